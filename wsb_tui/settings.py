"""What the desk remembers between runs: theme, key overrides, a few UI preferences.

Stored as JSON in the user's config directory (`platformdirs`), or in `$WSB_CONFIG_DIR` when
set (tests and multiple desks on one machine). A damaged or hand-edited file never stops the
desk: unknown keys and bad values are dropped with a warning and defaults apply.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

APP_NAME = "wsb-tui"
SETTINGS_FILE = "settings.json"
CONFIG_DIR_ENV = "WSB_CONFIG_DIR"


def default_settings_path() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    base = Path(override) if override else Path(user_config_dir(APP_NAME, appauthor=False))
    return base / SETTINGS_FILE


@dataclass(frozen=True, slots=True)
class Settings:
    theme: str | None = None
    # binding id -> key(s), as Textual's `set_keymap` takes them ("dashboard.confirm": "Y").
    keymap: dict[str, str] = field(default_factory=dict)
    # Seconds between full snapshot refreshes (risk, strategies); events stream in between.
    refresh_seconds: float = 1.0
    # Open the confirmation modal by itself when a proposal starts waiting.
    auto_open_confirm: bool = True
    # A freshly popped modal ignores y/n for this long, so a key meant for something else
    # never confirms a trade the person has not seen.
    confirm_key_guard_seconds: float = 0.4

    def with_theme(self, theme: str) -> Settings:
        return replace(self, theme=theme)


@dataclass(frozen=True, slots=True)
class LoadResult:
    settings: Settings
    warnings: tuple[str, ...] = ()


_FIELDS: dict[str, type | tuple[type, ...]] = {
    "theme": (str, type(None)),
    "keymap": dict,
    "refresh_seconds": (int, float),
    "auto_open_confirm": bool,
    "confirm_key_guard_seconds": (int, float),
}


def _validate(raw: dict[str, Any], path: Path) -> LoadResult:
    kept: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in raw.items():
        expected = _FIELDS.get(key)
        if expected is None:
            warnings.append(
                f"{path}: unknown setting {key!r} ignored (known: {', '.join(_FIELDS)})"
            )
            continue
        # bool is an int subclass: a `true` for a number is a mistake, not a 1.
        if not isinstance(value, expected) or (
            isinstance(value, bool) and expected in ((int, float),)
        ):
            warnings.append(f"{path}: setting {key}={value!r} has the wrong type; default used")
            continue
        kept[key] = value
    keymap = kept.get("keymap")
    if keymap is not None:
        clean = {str(k): str(v) for k, v in keymap.items() if isinstance(v, str) and v}
        if len(clean) != len(keymap):
            warnings.append(f"{path}: keymap entries must map a binding id to a key string")
        kept["keymap"] = clean
    refresh = kept.get("refresh_seconds")
    if refresh is not None and not 0.1 <= float(refresh) <= 60:
        warnings.append(f"{path}: refresh_seconds={refresh!r} must be in [0.1, 60]; default used")
        kept.pop("refresh_seconds")
    guard = kept.get("confirm_key_guard_seconds")
    if guard is not None and not 0 <= float(guard) <= 5:
        warnings.append(
            f"{path}: confirm_key_guard_seconds={guard!r} must be in [0, 5]; default used"
        )
        kept.pop("confirm_key_guard_seconds")
    return LoadResult(Settings(**kept), tuple(warnings))


def load_settings(path: Path | None = None) -> LoadResult:
    path = path or default_settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadResult(Settings())
    except OSError as exc:
        return LoadResult(Settings(), (f"{path}: cannot read settings ({exc}); defaults used",))
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return LoadResult(Settings(), (f"{path}: not valid JSON ({exc}); defaults used",))
    if not isinstance(raw, dict):
        return LoadResult(Settings(), (f"{path}: expected a JSON object; defaults used",))
    return _validate(raw, path)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename): a crash mid-write never leaves half a file."""
    path = path or default_settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(asdict(settings), indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(payload + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
