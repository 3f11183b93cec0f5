"""Kelly position sizing for option plays (spec §4 'Kelly').

f* = max(0, (b·p - q) / b) with b = average win / average loss; the system bets a quarter of
it (never more than half).  The number of contracts is the smallest of four sizes - the
risk tier's fixed fraction, the fractional Kelly, the tier scaled by the signal's confidence,
and the tier scaled by 0.25 / IV (a richer option buys fewer contracts) - capped at 15 % of
equity, then scaled by the VIX multiplier (spec §5).

Spec example: p 0.60, +150 %, -45 %, $100k, $500 a contract, confidence 1, moderate tier:
fixed 20, Kelly 24, confidence 20, IV-adjusted 20 at IV 25 % (16 at 30 %) -> 20 (16).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["KELLY_CAP_PCT", "TIERS", "KellySize", "kelly_contracts", "kelly_fraction"]

TIERS: dict[str, float] = {"conservative": 0.05, "moderate": 0.10, "aggressive": 0.15}
KELLY_CAP_PCT = 0.15  # no play above 15 % of equity, whatever the inputs
_IV_PIVOT = 0.25


def kelly_fraction(win_prob: float, avg_win: float, avg_loss: float) -> float:
    """Full Kelly f* for a bet winning `avg_win` or losing `avg_loss` (fractions of stake)."""
    if not (0.0 <= win_prob <= 1.0):
        raise ValueError(f"win_prob={win_prob!r} must be a probability in [0, 1]")
    if not (math.isfinite(avg_win) and avg_win > 0):
        raise ValueError(f"avg_win={avg_win!r} must be a positive fraction (1.5 = +150%)")
    if not (math.isfinite(avg_loss) and avg_loss > 0):
        raise ValueError(f"avg_loss={avg_loss!r} must be a positive fraction (0.45 = -45%)")
    b = avg_win / avg_loss
    return max(0.0, (b * win_prob - (1.0 - win_prob)) / b)


@dataclass(frozen=True, slots=True)
class KellySize:
    """Each candidate size in contracts, and the one chosen (`contracts`)."""

    full_kelly: float
    kelly_used: float  # the fraction of equity actually bet (¼ Kelly by default)
    fixed: int
    kelly: int
    confidence: int
    iv_adjusted: int | None  # None when no IV was given
    cap: int
    before_vix: int
    contracts: int  # after the VIX multiplier


def kelly_contracts(
    *,
    equity: float,
    contract_cost: float,
    win_prob: float = 0.60,
    avg_win: float = 1.50,
    avg_loss: float = 0.45,
    confidence: float = 1.0,
    iv: float | None = None,
    tier: str = "moderate",
    kelly_multiplier: float = 0.25,
    vix_multiplier: float = 1.0,
) -> KellySize:
    """Contracts to buy; see the module docstring for the rule."""
    if not (math.isfinite(equity) and equity > 0):
        raise ValueError(f"equity={equity!r} must be a positive dollar amount")
    if not (math.isfinite(contract_cost) and contract_cost > 0):
        raise ValueError(f"contract_cost={contract_cost!r} must be a positive dollar amount")
    if tier not in TIERS:
        raise ValueError(f"tier={tier!r} must be one of {', '.join(TIERS)}")
    if not (0.0 <= confidence <= 1.0):
        raise ValueError(f"confidence={confidence!r} must be in [0, 1]")
    if not (0.0 < kelly_multiplier <= 0.5):
        raise ValueError(f"kelly_multiplier={kelly_multiplier!r} must be in (0, 0.5]: never > ½")
    if iv is not None and not (math.isfinite(iv) and iv > 0):
        raise ValueError(f"iv={iv!r} must be a positive annual volatility (0.25 = 25%)")
    if not (math.isfinite(vix_multiplier) and 0.0 <= vix_multiplier <= 1.0):
        raise ValueError(f"vix_multiplier={vix_multiplier!r} must be in [0, 1]")

    def n(frac: float) -> int:
        # A hair of tolerance so 0.12 * 100_000 / 500 is 24, not 23.999...
        return max(0, math.floor(frac * equity / contract_cost + 1e-9))

    tier_pct = TIERS[tier]
    full = kelly_fraction(win_prob, avg_win, avg_loss)
    used = full * kelly_multiplier
    fixed = n(tier_pct)
    kelly = n(used)
    conf = n(tier_pct * confidence)
    iv_adj = None if iv is None else n(tier_pct * _IV_PIVOT / iv)
    cap = n(KELLY_CAP_PCT)
    before = min(x for x in (fixed, kelly, conf, iv_adj, cap) if x is not None)
    return KellySize(
        full_kelly=full,
        kelly_used=used,
        fixed=fixed,
        kelly=kelly,
        confidence=conf,
        iv_adjusted=iv_adj,
        cap=cap,
        before_vix=before,
        contracts=math.floor(before * vix_multiplier + 1e-9),
    )
