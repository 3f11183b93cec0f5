"""Where databases live: one SQLite file per account profile in the user's data directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

APP_NAME = "wsb-tui"
ENV_DATA_DIR = "WSB_DATA_DIR"
DB_SUFFIX = ".sqlite"

# Profiles become file names: a conservative alphabet keeps them portable and stops a
# profile like "../x" from escaping the data directory.
_PROFILE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def data_dir() -> Path:
    """`$WSB_DATA_DIR` when set (and not empty), else the platform's user data dir."""
    override = os.environ.get(ENV_DATA_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path(APP_NAME)


def validate_profile(profile: str) -> str:
    if not _PROFILE.fullmatch(profile):
        raise ValueError(
            f"profile={profile!r} is not allowed: use 1-64 characters of lower-case a-z, 0-9, "
            "'-' or '_', starting with a letter or digit (e.g. 'sim', 'alpaca-paper')"
        )
    return profile


def default_db_path(profile: str = "sim") -> Path:
    """The database file for an account profile, e.g. ``~/.local/share/wsb-tui/sim.sqlite``.

    Nothing is created here; `Store.open` makes the parent directories.
    """
    return data_dir() / f"{validate_profile(profile)}{DB_SUFFIX}"
