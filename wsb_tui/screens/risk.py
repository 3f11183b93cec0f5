"""The risk screen: gauges, VaR/CVaR by method, stress scenarios, greeks by underlying and
expiry, VaR backtest exceptions, breaker controls and the kill switch.

Detailed figures come from `client.risk_report()` when the engine offers it (see the
`RiskReport` shape below); without it the screen shows the summary gauges and says what is
missing instead of failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

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


def _items(obj: Any, name: str) -> Iterable[Any]:
    value = getattr(obj, name, None)
    return value if value is not None else ()


class RiskScreen(DeskScreen):
    SCOPE = "risk"
    BINDINGS = bindings("risk")

    def __init__(self) -> None:
        super().__init__(id="risk-screen")
        self.report: Any = None
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
        fetch = getattr(self.wsb.client, "risk_report", None)
        if fetch is None:
            self.report, self.report_error = None, "engine does not provide a risk report yet"
        else:
            try:
                self.report = await asyncio.wait_for(fetch(), 10)
                self.report_error = ""
            except Exception as exc:
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

    def _render_report(self) -> None:
        st = signal_styles(self.app)
        r = self.report
        missing = self.report_error or "no report yet"
        var_rows = [
            (
                f"{getattr(v, 'method', '?')}:{getattr(v, 'confidence', 0)}:{getattr(v, 'horizon_days', 1)}",
                [
                    cell(str(getattr(v, "method", "?"))),
                    num(
                        pct(getattr(v, "confidence", None), signed=False, digits=1),
                        getattr(v, "confidence", None),
                    ),
                    num(f"{getattr(v, 'horizon_days', 1)}d", getattr(v, "horizon_days", 1)),
                    num(
                        money(getattr(v, "var", None), cents=False),
                        getattr(v, "var", None),
                        st.warn,
                    ),
                    num(
                        money(getattr(v, "cvar", None), cents=False),
                        getattr(v, "cvar", None),
                        st.loss,
                    ),
                    num(
                        money(getattr(v, "lvar", None), cents=False)
                        if getattr(v, "lvar", None) is not None
                        else "—",
                        getattr(v, "lvar", None),
                    ),
                ],
            )
            for v in _items(r, "var")
        ]
        self._fill("#risk-var", var_rows, missing)
        stress_rows = []
        for s in _items(r, "stress"):
            passed = bool(getattr(s, "passed", False))
            pnl = getattr(s, "pnl", None)
            stress_rows.append(
                (
                    str(getattr(s, "scenario", "?")),
                    [
                        cell(str(getattr(s, "scenario", "?"))),
                        num(
                            money(pnl, signed=True, cents=False),
                            pnl,
                            st.for_sign(-1 if pnl and pnl < 0 else 1),
                        ),
                        num(
                            pct(getattr(s, "pnl_pct", None), digits=1), getattr(s, "pnl_pct", None)
                        ),
                        num(
                            f"{getattr(s, 'recovery_days', 0) or 0:,.0f}d",
                            getattr(s, "recovery_days", None),
                        ),
                        cell(
                            "PASS" if passed else "FAIL", st.gain if passed else f"bold {st.loss}"
                        ),
                    ],
                )
            )
        self._fill("#risk-stress", stress_rows, missing)
        greek_rows = []
        for g in _items(r, "greeks"):
            exp = getattr(g, "expiry", None)
            key = f"{getattr(g, 'underlying', '?')}:{exp}"
            greek_rows.append(
                (
                    key,
                    [
                        cell(str(getattr(g, "underlying", "?")), "bold"),
                        cell(f"{exp:%Y-%m-%d}" if exp is not None else "stock", st.muted),
                        *(
                            num(compact_money(getattr(g, f, None)), getattr(g, f, None))
                            for f in ("delta", "gamma", "vega", "theta")
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
        b = getattr(self.report, "backtest", None)
        t = Text()
        if b is None:
            t.append(
                self.report_error or "no backtest yet (needs 250 days of history)", style=st.muted
            )
        else:
            light = str(getattr(b, "traffic_light", "?"))
            style = {"green": st.gain, "yellow": st.warn}.get(light, f"bold {st.loss}")
            t.append(f"{getattr(b, 'exceptions', '?')} exceptions", style="bold")
            t.append(f" in {getattr(b, 'window', 250)} days\n", style=st.muted)
            t.append("Kupiec LR ", style=st.muted)
            t.append(f"{getattr(b, 'kupiec_lr', float('nan')):.3f}")
            cc = getattr(b, "christoffersen_lr", None)
            if cc is not None:
                t.append("  Christoffersen LR ", style=st.muted)
                t.append(f"{cc:.3f}")
            t.append("\ntraffic light ", style=st.muted)
            t.append(light.upper(), style=style)
        note = getattr(self.report, "note", "") or (
            self.wsb.desk.risk.note if self.wsb.desk.risk else ""
        )
        if note:
            t.append(f"\n{note}", style=st.warn)
        self.query_one("#risk-backtest", Static).update(t)

    def _render_breakers(self) -> None:
        st = signal_styles(self.app)
        rows: list[tuple[str, list[CellSpec]]] = []
        reported = list(_items(self.report, "breakers"))
        if reported:
            for b in reported:
                tripped = bool(getattr(b, "tripped", False))
                name = str(getattr(b, "name", "?"))
                rows.append(
                    (
                        name,
                        [
                            cell(name),
                            cell(
                                "TRIPPED" if tripped else "ok",
                                f"bold {st.loss}" if tripped else st.gain,
                            ),
                            cell(str(getattr(b, "detail", "")), st.muted),
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
        if key is None or key == "-none-":
            self.notify("no tripped breaker selected", timeout=2)
            return
        self.wsb.reset_breaker(key)

    def action_set_state(self, state: str) -> None:
        self.wsb.set_trading_state(state)
