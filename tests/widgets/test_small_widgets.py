"""Event log cap, gauges, strategy grid, proposals queue, chain table, header."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from widget_host import NOW, Host

from engine.domain import (
    CheckOutcome,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    OrderLeg,
    ProposalIntent,
    ProposalState,
    RiskCheckResult,
    RiskDecision,
    Side,
    TradeProposal,
)
from engine.runtime.views import (
    GaugeReading,
    PendingProposal,
    RiskSummary,
    StrategyRunState,
    StrategyStatus,
    TradingState,
)
from widgets.chain_table import SPOT_ROW, ChainTable
from widgets.event_log import EventLog
from widgets.gauges import RiskGauges
from widgets.header import DeskHeader, HeaderView, ModeBadge, StatusLine
from widgets.proposals import ProposalsQueue
from widgets.strategy_grid import StrategyGrid


async def test_log_when_more_lines_than_cap_then_oldest_dropped() -> None:
    log = EventLog(max_lines=50)
    async with Host(log).run_test() as pilot:
        for i in range(500):
            log.add(NOW, "info", f"line {i}")
        await pilot.pause()
        assert len(log.lines) == 50
        assert "line 499" in log.lines[-1].text
        assert "line 450" in log.lines[0].text


def _summary(breakers: tuple[str, ...] = ()) -> RiskSummary:
    return RiskSummary(
        NOW,
        TradingState.ACTIVE,
        (GaugeReading("VaR99 1d", 4800.0, 5000.0), GaugeReading("drawdown", 0.01, 0.06, "%")),
        net_delta=41200.0,
        breakers=breakers,
    )


async def test_gauges_when_compact_then_one_line_with_ratios_and_breakers() -> None:
    g = RiskGauges(classes="-compact")
    async with Host(g).run_test() as pilot:
        g.show(_summary(("monitoring",)))
        await pilot.pause()
        text = g.render().plain  # type: ignore[union-attr]
        assert "\n" not in text
        assert "VaR99 96%" in text
        assert "BREAKER monitoring" in text
        assert g.size.height == 1


async def test_gauges_when_roomy_then_one_line_per_gauge_and_limits() -> None:
    g = RiskGauges()
    async with Host(g).run_test(size=(60, 20)) as pilot:
        g.show(_summary())
        await pilot.pause()
        lines = g.render().plain.splitlines()  # type: ignore[union-attr]
        assert lines[0].startswith("VaR99 1d")
        assert "$4.8k/$5.0k" in lines[0]
        assert "96%" in lines[0]
        assert "1.0%/6.0%" in lines[1]
        assert lines[-1].startswith("ACTIVE")
        assert "none tripped" in lines[-1]


def _statuses(n: int = 10) -> list[StrategyStatus]:
    return [
        StrategyStatus(
            f"s{i}",
            f"Strat {i}",
            StrategyRunState.RUNNING,
            "research_2024",
            i,
            0,
            10.0 * i,
            0.0,
            (0.0, 1.0, float(i)),
        )
        for i in range(n)
    ]


async def test_grid_when_narrow_then_list_and_arrows_move_selection() -> None:
    grid = StrategyGrid()
    async with Host(grid).run_test(size=(80, 24)) as pilot:
        grid.show(_statuses())
        await pilot.pause()
        assert grid.has_class("-list")
        grid.focus()
        await pilot.press("down", "down")
        assert grid.selected_name == "s2"
        await pilot.press("enter")
        opened = [m for m in pilot.app.messages if isinstance(m, StrategyGrid.Opened)]  # type: ignore[attr-defined]
        assert opened
        assert opened[-1].name == "s2"


async def test_grid_when_wide_then_cards_and_down_moves_a_whole_row() -> None:
    grid = StrategyGrid()
    async with Host(grid).run_test(size=(160, 40)) as pilot:
        grid.show(_statuses())
        await pilot.pause()
        assert not grid.has_class("-list")
        grid.focus()
        await pilot.press("down")
        assert grid.selected_name == "s5"  # five cards per row at 160 columns
        grid.show(
            [
                *_statuses()[:3],
                StrategyStatus(
                    "s3", "Strat 3", StrategyRunState.ERRORED, "p", 0, 0, 0, 0, error="boom"
                ),
                *_statuses()[4:],
            ]
        )
        await pilot.pause()
        assert grid.query_one("#pane-s3").has_class("-errored")


def _pending(i: int, expires_in: int) -> PendingProposal:
    c = OptionContract("NVDA", NOW.date() + timedelta(days=30), Decimal(145 + i), OptionRight.CALL)
    p = TradeProposal(
        f"p{i}",
        "dip",
        NOW + timedelta(seconds=i),
        ProposalIntent.OPEN,
        (OrderLeg(c, Side.BUY),),
        3,
        "why",
        limit_price=Decimal("4.80"),
        max_loss=Decimal(1440),
    )
    d = RiskDecision(p.proposal_id, True, 3, (RiskCheckResult("x", CheckOutcome.PASS),), NOW)
    return PendingProposal(
        p, d, ProposalState.AWAITING_CONFIRMATION, NOW + timedelta(seconds=expires_in)
    )


async def test_queue_when_enter_on_row_then_review_requested_for_that_proposal() -> None:
    q = ProposalsQueue()
    async with Host(q).run_test() as pilot:
        q.show([_pending(1, 100), _pending(0, 10)], NOW)
        await pilot.pause()
        assert q.row_keys == ["p0", "p1"]  # oldest first
        assert q.get_cell("p0", "expires").plain == "10s"
        q.focus()
        await pilot.press("down", "enter")
        req = [m for m in pilot.app.messages if isinstance(m, ProposalsQueue.ReviewRequested)]  # type: ignore[attr-defined]
        assert req[-1].proposal_id == "p1"
        q.show([_pending(1, 100)], NOW)
        assert q.row_keys == ["p1"]


def _chain() -> OptionChain:
    exp = NOW.date() + timedelta(days=9)
    quotes = []
    for k in (95, 100, 105):
        for r in (OptionRight.CALL, OptionRight.PUT):
            quotes.append(
                OptionQuote(
                    OptionContract("XYZ", exp, Decimal(k), r),
                    NOW,
                    1.0,
                    1.2,
                    1.1,
                    10,
                    100,
                    iv=0.3,
                    delta=0.5 if r is OptionRight.CALL else -0.5,
                )
            )
    return OptionChain("XYZ", NOW, 101.5, tuple(quotes))


async def test_chain_when_shown_then_money_line_between_strikes_and_cursor_picks_side() -> None:
    t = ChainTable()
    async with Host(t).run_test(size=(140, 20)) as pilot:
        chain = _chain()
        t.show(chain.for_expiry(chain.expiries[0]), chain.spot)
        await pilot.pause()
        assert t.row_keys == ["95", "100", SPOT_ROW, "105"]
        t.move_cursor(row=3, column=0)
        q = t.selected_quote()
        assert q is not None
        assert q.contract.right is OptionRight.CALL
        assert q.contract.strike == 105
        t.move_cursor(row=3, column=9)
        q = t.selected_quote()
        assert q is not None
        assert q.contract.right is OptionRight.PUT
        t.move_cursor(row=2, column=0)
        assert t.selected_quote() is None  # the money line is not a contract


async def test_header_when_live_and_narrow_then_badge_red_class_and_clock_kept() -> None:
    h = DeskHeader("SIM")
    async with Host(h).run_test(size=(60, 5)) as pilot:
        h.set_view(
            HeaderView(
                mode="LIVE",
                ts=NOW,
                session_state="open",
                equity=102431.2,
                day_pnl=-1204.55,
                day_return=-0.0119,
                buying_power=61220,
                trading_state="HALTED",
                data_source="alpaca",
                data_ok=False,
            )
        )
        await pilot.pause()
        badge = h.query_one(ModeBadge)
        assert badge.has_class("-live")
        assert not badge.has_class("-sim")
        line = h.query_one(StatusLine).render().plain  # type: ignore[union-attr]
        assert "10:42:00" in line
        assert "HALTED" in line
        assert "STALE" in line
        assert len(line) <= h.query_one(StatusLine).size.width


async def test_log_when_theme_switches_then_old_lines_recoloured() -> None:
    log = EventLog(max_lines=10)
    async with Host(log).run_test() as pilot:
        log.add(NOW, "error", "breaker tripped")
        await pilot.pause()
        before = log.theme_styles.loss
        pilot.app.theme = "wsb-light"
        await pilot.pause()
        await pilot.pause()
        after = log.theme_styles.loss
        assert before != after
        spans = [str(seg.style) for seg in log.lines[-1]._segments if "breaker" in seg.text]
        assert spans
        assert after.lower() in spans[0].lower()
        assert len(log.lines) == 1


async def test_log_when_it_keeps_scrolling_then_rendered_line_cache_stays_bounded() -> None:
    """Every new line scrolls the log to a new absolute line number, so RichLog's line cache
    never hits an old key: without a bound of its own it fills to 1,024 strips."""
    from widgets.event_log import LINE_CACHE

    log = EventLog(max_lines=300)
    async with Host(log).run_test(size=(80, 40)) as pilot:
        for i in range(2 * LINE_CACHE):
            log.add(NOW, "info", f"event {i}")
            await pilot.pause()
        assert log.lines_written == 2 * LINE_CACHE
        assert 0 < len(log._line_cache) <= LINE_CACHE
        last = log.render_line(log.scrollable_content_region.height - 1).text
        assert f"event {2 * LINE_CACHE - 1}" in last
