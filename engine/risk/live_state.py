"""What the live risk monitor tells the pre-trade checks between ticks.

`PreTradeRisk` owns one `LiveRiskState`; the monitor (engine.runtime.risk_monitor) writes it
on the event loop - the marginal-VaR model after each snapshot, the VIX and its size
multiplier every tick, day trades from fills - and the checks read it synchronously.  Both
run on the event loop, so no lock is needed; a new model is swapped in whole.

An engine without a monitor leaves `attached` False: the checks that need the live picture
then warn instead of failing, so a bare engine (tests, tools) still runs.  With a monitor
attached, a missing model fails closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.risk.marginal import MarginalVaR
from engine.risk.pdt import DayTradeLog

__all__ = ["LiveRiskState"]


@dataclass
class LiveRiskState:
    attached: bool = False
    model: MarginalVaR | None = None
    model_error: str = "risk snapshot not computed yet"
    model_at: datetime | None = None
    vix: float | None = None
    size_multiplier: float = 1.0
    sectors: dict[str, str] = field(default_factory=dict)  # underlying -> sector
    prior_close: dict[str, float] = field(default_factory=dict)  # symbol -> last session close
    day_trades: DayTradeLog = field(default_factory=DayTradeLog)

    def set_model(self, model: MarginalVaR, at: datetime) -> None:
        self.model = model
        self.model_at = at
        self.model_error = ""

    def fail_model(self, why: str) -> None:
        self.model = None
        self.model_error = why
