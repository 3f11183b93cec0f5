"""Number and instrument formatting shared by every widget, so the desk speaks one dialect."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from engine.domain import Equity, OptionContract, OrderLeg, Side, TradeProposal

Number = float | int | Decimal

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def _f(x: Number) -> float:
    return float(x)


def money(x: Number | None, *, signed: bool = False, cents: bool = True) -> str:
    """`$1,204.55`; `+$1,204.55` when signed; `-$210.00` for losses; `—` when unknown."""
    if x is None:
        return "—"
    v = _f(x)
    if not math.isfinite(v):
        return "—"
    body = f"{abs(v):,.2f}" if cents else f"{abs(v):,.0f}"
    if v < 0 and round(abs(v), 2 if cents else 0) != 0:
        return f"-${body}"
    return f"+${body}" if signed else f"${body}"


def compact_money(x: Number | None, *, signed: bool = False) -> str:
    """`$41k`, `$1.2k`, `$3.4M`: for gauges and panes where width is scarce."""
    if x is None:
        return "—"
    v = _f(x)
    if not math.isfinite(v):
        return "—"
    a = abs(v)
    if a >= 1e6:
        body = f"{a / 1e6:.1f}M"
    elif a >= 1e4:
        body = f"{a / 1e3:.0f}k"
    elif a >= 1e3:
        body = f"{a / 1e3:.1f}k"
    else:
        body = f"{a:.0f}"
    sign = "-" if v < 0 and body not in {"0", "0.0k"} else ("+" if signed and v > 0 else "")
    return f"{sign}${body}"


def pct(x: float | None, *, signed: bool = True, digits: int = 2) -> str:
    """Fraction to percent: 0.0119 -> `+1.19%`."""
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x * 100:+.{digits}f}%" if signed else f"{x * 100:.{digits}f}%"


def price(x: Number | None, digits: int = 2) -> str:
    if x is None:
        return "—"
    v = _f(x)
    return f"{v:,.{digits}f}" if math.isfinite(v) else "—"


def greek(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:+.{digits}f}"


def sign_of(x: Number | None) -> int:
    if x is None:
        return 0
    v = _f(x)
    if not math.isfinite(v) or abs(v) < 0.005:
        return 0
    return 1 if v > 0 else -1


def instrument_label(instrument: Equity | OptionContract) -> str:
    return instrument.describe() if isinstance(instrument, OptionContract) else instrument.symbol


def leg_label(leg: OrderLeg, quantity: int) -> str:
    verb = "BUY" if leg.side is Side.BUY else "SELL"
    return f"{verb} {quantity * leg.ratio} {instrument_label(leg.instrument)}"


def proposal_action(p: TradeProposal) -> str:
    """One line: `BUY 3 NVDA 250117C145 @4.80` or `2 legs AAPL @-2.10 cr`."""
    if len(p.legs) == 1:
        text = leg_label(p.legs[0], p.quantity)
    else:
        text = f"{p.quantity}x {len(p.legs)}-leg {p.underlying}"
    if p.limit_price is not None:
        lp = p.limit_price
        text += f" @{abs(lp):.2f}" + (" cr" if lp < 0 else "")
    else:
        text += " MKT"
    return text


def sparkline_text(values: Sequence[float], width: int = 8) -> str:
    """Unicode block sparkline of the last `width` values (for one-line list rows)."""
    vals = [v for v in values[-width:] if math.isfinite(v)]
    if not vals:
        return " " * width
    lo, hi = min(vals), max(vals)
    span = hi - lo
    if span <= 0:
        return (SPARK_BLOCKS[0] * len(vals)).ljust(width)
    chars = [SPARK_BLOCKS[min(7, int((v - lo) / span * 7.999))] for v in vals]
    return "".join(chars).ljust(width)


def bar_text(ratio: float, width: int = 10) -> tuple[str, str]:
    """A gauge bar split into its filled and empty parts, clamped to [0, 1]."""
    r = 0.0 if not math.isfinite(ratio) else max(0.0, min(1.0, ratio))
    filled = round(r * width)
    return "█" * filled, "░" * (width - filled)
