"""The risk screen: gauges, VaR/CVaR by method, stress scenarios, greeks by underlying and
expiry, VaR backtest exceptions, breaker controls and the kill switch.

Detailed figures come from `client.risk_report()` (an `engine.runtime.views.RiskReportView`,
the same from the embedded engine and over the control socket), refreshed
every few seconds while the screen is shown. Before the engine's first risk snapshot the
report says so (`available` False, `note`); the screen then shows the summary gauges and the
breakers, and the reason in place of the missing tables.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from engine.runtime.views import BreakerStatus, RiskReportView
from widgets.format import compact_money, money, pct
from widgets.gauges import RiskGauges
from widgets.keyed_table import CellSpec, Column, KeyedTable, cell, num
from widgets.styles import SignalStyles, signal_styles
from wsb_tui.bindings import bindings
from wsb_tui.screens.base import DeskScreen

REPORT_REFRESH_SECONDS = 5.0
VAR_COLUMNS = (
    Column("method", "method"),
    Column("conf", "conf"),
    Column("h", "h"),
    Column("var", "VaR"),
    Column("cvar", "CVaR"),
    Column("lvar", "LVaR"),
)
STRESS_COLUMNS = (
    Column("scenario", "scenario"),
    Column("pnl", "P&L"),
    Column("pct", "%"),
    Column("recovery", "recovery"),
    Column("pass", "result"),
)
GREEK_COLUMNS = (
    Column("underlying", "underlying"),
    Column("expiry", "expiry"),
    Column("delta", "Δ $"),
    Column("gamma", "Γ $"),
    Column("vega", "vega $"),
    Column("theta", "θ $"),
)
BREAKER_COLUMNS = (
    Column("breaker", "breaker"),
    Column("state", "state"),
    Column("detail", "detail"),
)


REPORT_TIMEOUT_S = 10.0
TOTAL_ROW = "-total-"


def _cooldown(b: BreakerStatus) -> str:
    if not b.tripped:
        return ""
    if b.cooldown_left_s is None:
        return "latched: reset by hand"
    return f"cool-down {b.cooldown_left_s / 60:.0f}m left"


class RiskScreen(DeskScreen):
    SCOPE = "risk"
    BINDINGS = bindings("risk")

    def __init__(self) -> None:
        super().__init__(id="risk-screen")
        self.report: RiskReportView | None = None
        self.report_error = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with VerticalScroll(id="risk-body"):
            with Horizontal(classes="row", id="risk-row1"):
                with Vertical(classes="box", id="risk-gauges-box"):
                    yield RiskGauges(id="risk-gauges")
                with Vertical(classes="box", id="risk-var-box"):
                    yield KeyedTable(VAR_COLUMNS, id="risk-var", cursor_type="none")
            with Horizontal(classes="row", id="risk-row2"):
                with Vertical(classes="box", id="risk-stress-box"):
                    yield KeyedTable(STRESS_COLUMNS, id="risk-stress", cursor_type="none")
                with Vertical(classes="box", id="risk-greeks-box"):
                    yield KeyedTable(GREEK_COLUMNS, id="risk-greeks", cursor_type="none")
            with Horizontal(classes="row", id="risk-row3"):
                with Vertical(classes="box", id="risk-backtest-box"):
                    yield Static(id="risk-backtest")
                with Vertical(classes="box", id="risk-breakers-box"):
                    yield KeyedTable(BREAKER_COLUMNS, id="risk-breakers")
                    yield Static(
                        "b reset selected breaker · h halt · m reduce-only · a activate · k kill switch",
                        classes="hint",
                    )
        yield from self.compose_footer()

    def on_mount(self) -> None:
        titles = {
            "#risk-gauges-box": "Gauges",
            "#risk-var-box": "VaR / CVaR by method",
            "#risk-stress-box": "Stress scenarios",
            "#risk-greeks-box": "Greeks by underlying & expiry",
            "#risk-backtest-box": "VaR backtest",
            "#risk-breakers-box": "Breakers & kill switch",
        }
        for sel, title in titles.items():
            self.query_one(sel).border_title = title
        self._refresh_report()
        self.set_interval(REPORT_REFRESH_SECONDS, self._refresh_report)

    def _refresh_report(self) -> None:
        if self.is_current:
            self._load_report()

    @work(exclusive=True, group="risk-report", name="risk report")
    async def _load_report(self) -> None:
        try:
            self.report = await asyncio.wait_for(self.wsb.client.risk_report(), REPORT_TIMEOUT_S)
            self.report_error = ""
        except Exception as exc:  # a dropped connection or a slow engine: say so, keep going
            self.report_error = f"risk report failed: {type(exc).__name__}: {exc}"
        self._render_report()

    def action_refresh_report(self) -> None:
        self._load_report()

    def render_desk(self, topics: set[str]) -> None:
        super().render_desk(topics)
        if "theme" in topics:
            self._render_report()
        desk = self.wsb.desk
        if "risk" in topics and desk.risk is not None:
            self.query_one("#risk-gauges", RiskGauges).show(desk.risk)
            self._render_breakers()

    def _missing(self) -> str:
        r = self.report
        if self.report_error:
            return self.report_error
        if r is None:
            return "no report yet"
        if not r.available:
            return r.note or "no risk snapshot yet"
        return "none (no positions)"

    def _render_report(self) -> None:
        st = signal_styles(self.app)
        r = self.report
        missing = self._missing()
        var_rows = [
            (
                f"{v.method}:{v.confidence}:{v.horizon_days}",
                [
                    cell(v.method),
                    num(pct(v.confidence, signed=False, digits=1), v.confidence),
                    num(f"{v.horizon_days}d", v.horizon_days),
                    num(money(v.var, cents=False), v.var, st.warn),
                    num(money(v.cvar, cents=False), v.cvar, st.loss),
                    num(money(v.lvar, cents=False) if v.lvar is not None else "—", v.lvar),
                ],
            )
            for v in (r.var if r is not None else ())
        ]
        self._fill("#risk-var", var_rows, missing)
        stress_rows = []
        for s in r.stress if r is not None else ():
            stress_rows.append(
                (
                    s.key or s.scenario,
                    [
                        cell(s.scenario),
                        num(
                            money(s.pnl, signed=True, cents=False),
                            s.pnl,
                            st.for_sign(-1 if s.pnl < 0 else 1),
                        ),
                        num(pct(s.pnl_pct, digits=1), s.pnl_pct),
                        num(f"{s.recovery_days or 0:,.0f}d", s.recovery_days),
                        cell(
                            "PASS" if s.passed else "FAIL",
                            st.gain if s.passed else f"bold {st.loss}",
                        ),
                    ],
                )
            )
        self._fill("#risk-stress", stress_rows, missing)
        greek_rows: list[tuple[str, list[CellSpec]]] = []
        for g in r.greeks if r is not None else ():
            greek_rows.append(
                (
                    f"{g.underlying}:{g.expiry}",
                    [
                        cell(g.underlying, "bold"),
                        cell(f"{g.expiry:%Y-%m-%d}" if g.expiry is not None else "stock", st.muted),
                        *(num(compact_money(x), x) for x in (g.delta, g.gamma, g.vega, g.theta)),
                    ],
                )
            )
        total = r.greeks_total if r is not None else None
        if greek_rows and total is not None:
            greek_rows.append(
                (
                    TOTAL_ROW,
                    [
                        cell("total", f"bold {st.accent}"),
                        cell("", st.muted),
                        *(
                            num(compact_money(x), x, "bold")
                            for x in (total.delta, total.gamma, total.vega, total.theta)
                        ),
                    ],
                )
            )
        self._fill("#risk-greeks", greek_rows, missing)
        self._render_backtest(st)
        self._render_breakers()

    def _fill(self, selector: str, rows: list[tuple[str, list[CellSpec]]], missing: str) -> None:
        table = self.query_one(selector, KeyedTable)
        table.sync(rows)
        box = table.parent
        if box is not None:
            box.border_subtitle = "" if rows else missing  # type: ignore[attr-defined]

    def _render_backtest(self, st: SignalStyles) -> None:
        r = self.report
        b = r.backtest if r is not None else None
        t = Text()
        if b is None:
            t.append(
                self.report_error or "no backtest yet (needs 250 days of history)", style=st.muted
            )
        else:
            light = b.traffic_light
            style = {"green": st.gain, "yellow": st.warn}.get(light, f"bold {st.loss}")
            t.append(f"{b.exceptions} exceptions", style="bold")
            t.append(f" in {b.window} days\n", style=st.muted)
            t.append("Kupiec LR ", style=st.muted)
            t.append(f"{b.kupiec_lr:.3f}")
            if b.christoffersen_lr is not None:
                t.append("  Christoffersen LR ", style=st.muted)
                t.append(f"{b.christoffersen_lr:.3f}")
            t.append("\ntraffic light ", style=st.muted)
            t.append(light.upper(), style=style)
        note = (r.note if r is not None else "") or (
            self.wsb.desk.risk.note if self.wsb.desk.risk else ""
        )
        if note:
            t.append(f"\n{note}", style=st.warn)
        self.query_one("#risk-backtest", Static).update(t)

    def _render_breakers(self) -> None:
        st = signal_styles(self.app)
        rows: list[tuple[str, list[CellSpec]]] = []
        reported = self.report.breakers if self.report is not None else ()
        if reported:
            for b in reported:
                detail = "  ".join(x for x in (b.detail, _cooldown(b)) if x)
                rows.append(
                    (
                        b.name,
                        [
                            cell(b.name),
                            cell(
                                "TRIPPED" if b.tripped else "ok",
                                f"bold {st.loss}" if b.tripped else st.gain,
                            ),
                            cell(detail, st.muted),
                        ],
                    )
                )
        else:
            risk = self.wsb.desk.risk
            for name in risk.breakers if risk is not None else ():
                rows.append(
                    (name, [cell(name), cell("TRIPPED", f"bold {st.loss}"), cell("", st.muted)])
                )
            if not rows:
                rows.append(
                    (
                        "-none-",
                        [cell("all breakers", st.muted), cell("ok", st.gain), cell("", st.muted)],
                    )
                )
        self.query_one("#risk-breakers", KeyedTable).sync(rows)

    # ------------------------------------------------------------------ actions
    def action_reset_breaker(self) -> None:
        key = self.query_one("#risk-breakers", KeyedTable).cursor_key()
        tripped = {b.name for b in self.report.breakers if b.tripped} if self.report else None
        if key is None or key == "-none-" or (tripped is not None and key not in tripped):
            self.notify("no tripped breaker selected", timeout=2)
            return
        self.wsb.reset_breaker(key)

    def action_set_state(self, state: str) -> None:
        self.wsb.set_trading_state(state)
