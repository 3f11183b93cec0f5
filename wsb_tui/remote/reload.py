"""SIGHUP for the headless engine: re-read the configuration and apply what is safe live.

Safe while running: risk limits (they only ever gate *new* orders), the confirmation timeout,
each strategy's profile, and tightening the gate to `confirm`. Everything that would swap a
component under open orders or positions (data source, broker, database, the set of
strategies, loosening the gate to `auto`, speed) is reported as needing a restart and left
as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from engine.runtime.config import WsbConfig
from engine.runtime.embedded import risk_limits
from engine.runtime.engine import Engine
from engine.runtime.gate import GateMode

log = logging.getLogger("wsb_tui.headless")


@dataclass
class ReloadReport:
    applied: list[str] = field(default_factory=list)
    needs_restart: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"applied: {a}" for a in self.applied]
        out += [f"needs a restart (kept as before): {r}" for r in self.needs_restart]
        return out or ["configuration unchanged"]


def _profile(cfg: WsbConfig, name: str) -> str:
    ov = cfg.strategies.overrides.get(name)
    return (ov.profile if ov is not None and ov.profile else None) or cfg.strategies.profile


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json")


async def apply_reload(engine: Engine, old: WsbConfig, new: WsbConfig) -> ReloadReport:
    rep = ReloadReport()
    for section in ("data", "broker", "store"):
        if _dump(getattr(old, section)) != _dump(getattr(new, section)):
            rep.needs_restart.append(f"[{section}]")
    if old.strategies.enabled != new.strategies.enabled:
        rep.needs_restart.append("strategies.enabled")
    if old.engine.speed != new.engine.speed or old.engine.mode != new.engine.mode:
        rep.needs_restart.append("engine.speed / engine.mode")

    old_risk, new_risk = _dump(old.risk), _dump(new.risk)
    hedge_keys = sorted(
        k for k in new_risk if k.startswith("tail_hedge") and old_risk.get(k) != new_risk[k]
    )
    if hedge_keys:
        # The hedger is built at start with its config; a half-applied change would hedge
        # on the old rules while the report says the new ones are live.
        rep.needs_restart.append(
            f"risk.{', risk.'.join(hedge_keys)} (the hedger is built at start)"
        )
    if {k: v for k, v in old_risk.items() if not k.startswith("tail_hedge")} != {
        k: v for k, v in new_risk.items() if not k.startswith("tail_hedge")
    }:
        limits = risk_limits(new)
        engine.risk.limits = limits
        if engine.risk.throttle is not None:
            engine.risk.throttle.per_second = limits.max_orders_per_second
        engine.risk.modify_throttle.per_second = limits.max_modifies_per_second
        engine.risk.cancel_throttle.per_second = limits.max_cancels_per_second
        rep.applied.append("[risk] limits")
    if old.engine.confirm_timeout_s != new.engine.confirm_timeout_s:
        engine.gate.timeout = timedelta(seconds=new.engine.confirm_timeout_s)
        rep.applied.append(f"engine.confirm_timeout_s = {new.engine.confirm_timeout_s}")
    if old.engine.gate != new.engine.gate and new.engine.gate is not None:
        if new.engine.gate == GateMode.CONFIRM.value:
            engine.gate.mode = GateMode.CONFIRM
            rep.applied.append("engine.gate = confirm")
        else:
            rep.needs_restart.append("engine.gate = auto (loosening the gate is never live)")

    for name, slot in engine.manager.slots.items():
        wanted = _profile(new, name)
        # Only a profile the file changed is applied: a trader's live switch is not undone.
        if wanted == _profile(old, name) or wanted == slot.profile:
            continue
        try:
            await engine.set_profile(name, wanted)
        except (KeyError, ValueError) as exc:
            rep.needs_restart.append(f"strategies.{name}.profile: {exc}")
        else:
            rep.applied.append(f"strategies.{name}.profile = {wanted}")
    for line in rep.lines():
        engine.log("warning" if line.startswith("needs") else "info", f"SIGHUP reload: {line}")
    return rep
