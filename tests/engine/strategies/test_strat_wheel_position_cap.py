"""Wheel CSP sizing against the profile's per-position cap (spec §0.1/§0.2).

A put whose max loss (strike - credit) × 100 exceeds `max_position_size` × equity is never
proposed: pre-trade risk would deny it, so the scan says why instead (the R24 wheel on $100k
was proposing a put a day that risk denied, with nothing in its notes)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from strat_fixtures import context, fresh_bar
from test_strat_wheel import NOW, SYM, setup, strat

from engine.domain import TradeProposal
from engine.strategies.base import PROFILE_LIMITS, ProfileLimits
from engine.strategies.registry import allocation_cap

R24 = PROFILE_LIMITS["research_2024"]
W25 = PROFILE_LIMITS["wsb_2025"]


async def _scan(
    profile: str, limits: ProfileLimits, equity: float
) -> tuple[list[TradeProposal], str]:
    s = strat(profile)
    ctx = context(
        NOW,
        setup(rank=60.0),
        equity=equity,
        profile=profile,
        allocation_cap=allocation_cap("wheel", profile),
        limits=limits,
    )
    props = list(await s.on_bar(ctx, {SYM: fresh_bar(SYM, NOW, 100.0)}))
    return props, s.last_skip_reason or ""


async def test_entry_when_r24_100k_and_put_max_loss_above_5pct_then_skip_naming_the_cap() -> None:
    # Spot 100: every put in the 0.15-0.30 delta band is struck in the 90s, a max loss of
    # ~$9,000 against R24's 5% × $100k = $5,000, while the 20% wheel allocation ($20,000)
    # and the cash would cover it.
    props, why = await _scan("research_2024", R24, 100_000.0)
    assert props == []
    assert "per-position cap $5,000 (5% of equity, research_2024 profile)" in why
    assert "max loss $9," in why


async def test_entry_when_w25_100k_then_same_put_fits_30pct_cap() -> None:
    props, _ = await _scan("wsb_2025", W25, 100_000.0)
    assert len(props) == 1
    assert props[0].max_loss is not None
    assert float(props[0].max_loss) <= 0.30 * 100_000.0


@pytest.mark.parametrize(("cents_over", "trades"), [(0, True), (1, False)])
async def test_entry_when_max_loss_at_or_just_above_cap_then_trade_or_skip(
    cents_over: int, trades: bool
) -> None:
    # Find the put the R24 wheel picks (with room to spare), then size equity so the 5% cap
    # equals its max loss exactly, or sits one cent below it.
    wide = ProfileLimits(max_total_risk=1.0, max_position_size=1.0, data_refresh_seconds=60)
    props, _ = await _scan("research_2024", wide, 100_000.0)
    assert len(props) == 1
    assert props[0].max_loss is not None
    loss = props[0].max_loss
    equity = float((loss - Decimal(cents_over) / 100) / Decimal("0.05"))
    props, why = await _scan("research_2024", R24, equity)
    assert bool(props) is trades
    if trades:
        assert props[0].max_loss == loss
    else:
        assert "per-position cap" in why
