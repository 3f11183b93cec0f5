"""Option chain for any symbol: one tab per expiry, calls | strike | puts, the money line
marked, and a ticket: `b`/`s` add the contract under the cursor as a buy/sell leg, `t` sends
the ticket as a proposal (risk and confirmation apply as to any strategy's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TabbedContent, TabPane

from engine.domain import OptionChain, OptionQuote, Side
from widgets.chain_table import ChainTable
from widgets.styles import signal_styles
from wsb_tui.bindings import bindings
from wsb_tui.screens.base import DeskScreen
from wsb_tui.screens.dialogs import PromptDialog
from wsb_tui.screens.ticket import (
    MAX_LEGS,
    TicketDialog,
    TicketLeg,
    TicketValues,
    build_manual_proposal,
    net_mid,
)

CHAIN_DAYS = 60
STRIKES_EACH_SIDE = 15


def near_money(quotes: Sequence[OptionQuote], spot: float) -> list[OptionQuote]:
    """The strikes nearest the money: the rows a person trades from, and a bounded table."""
    strikes = sorted({q.contract.strike for q in quotes}, key=lambda k: abs(float(k) - spot))
    keep = set(strikes[: 2 * STRIKES_EACH_SIDE + 1])
    return [q for q in quotes if q.contract.strike in keep]


class ChainScreen(DeskScreen):
    SCOPE = "chain"
    BINDINGS = bindings("chain")

    def __init__(self, symbol: str) -> None:
        super().__init__(id="chain-screen")
        self.symbol = symbol.upper()
        self.chain: OptionChain | None = None
        self.legs: list[TicketLeg] = []
        self.error = ""
        self._filled: set[str] = set()

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Vertical(id="chain-box", classes="box"):
            yield Static(id="chain-quote")
            yield TabbedContent(id="chain-tabs")
            yield Static(id="chain-ticket")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self._render_ticket()
        self._load()

    def render_desk(self, topics: set[str]) -> None:
        super().render_desk(topics)
        if "theme" in topics:
            self._render_ticket()
            table = self._active_table()
            self._show_quote(table.selected_quote() if table is not None else None)

    @work(exclusive=True, group="chain", name="option chain")
    async def _load(self) -> None:
        desk = self.wsb.desk
        box = self.query_one("#chain-box")
        box.border_title = f"Option chain · {self.symbol} · loading…"
        if desk.now is None:
            self.error = "engine clock unknown yet"
            box.border_title = f"Option chain · {self.symbol}"
            return
        today = desk.now.date()
        try:
            chain = await self.wsb.client.option_chain(
                self.symbol, today, today + timedelta(days=CHAIN_DAYS)
            )
        except Exception as exc:
            self.chain = None
            self.error = f"{type(exc).__name__}: {exc}"
            box.border_title = f"Option chain · {self.symbol}"
            self.query_one("#chain-quote", Static).update(
                Text(
                    f"no chain for {self.symbol}: {self.error}", style=signal_styles(self.app).loss
                )
            )
            self.notify(f"option chain {self.symbol}: {exc}", severity="error")
            return
        self.chain = chain
        self.error = ""
        await self._show_chain(chain)

    async def _show_chain(self, chain: OptionChain) -> None:
        tabs = self.query_one(TabbedContent)
        await tabs.clear_panes()
        self._filled.clear()
        expiries = chain.expiries
        box = self.query_one("#chain-box")
        box.border_title = f"Option chain · {chain.underlying} spot {chain.spot:,.2f}"
        box.border_subtitle = f"{len(expiries)} expiries · {len(chain)} contracts"
        today = self.wsb.desk.now.date() if self.wsb.desk.now else None
        # Tables are filled when their tab is first shown: a whole chain at once would
        # keep the UI busy for seconds.
        for exp in expiries:
            dte = f" ({(exp - today).days}d)" if today else ""
            table = ChainTable(id=f"table-{exp:%Y%m%d}")
            await tabs.add_pane(TabPane(f"{exp:%b %d}{dte}", table, id=f"exp-{exp:%Y%m%d}"))
        if expiries:
            tabs.active = f"exp-{expiries[0]:%Y%m%d}"
            self._fill_active()
        else:
            self.query_one("#chain-quote", Static).update(
                f"{chain.underlying}: no listed expiries within {CHAIN_DAYS} days"
            )

    def _fill_active(self) -> None:
        chain = self.chain
        table = self._active_table()
        if chain is None or table is None or table.id in self._filled:
            return
        self._filled.add(table.id or "")
        exp = date(int(table.id[6:10]), int(table.id[10:12]), int(table.id[12:14]))  # type: ignore[index]
        table.show(near_money(chain.for_expiry(exp), chain.spot), chain.spot)
        table.focus()
        self._center(table)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self._fill_active()

    @staticmethod
    def _center(table: ChainTable) -> None:
        if table.move_to_key("spot"):
            table.move_cursor(column=2)

    def _active_table(self) -> ChainTable | None:
        tabs = self.query_one(TabbedContent)
        if not tabs.active:
            return None
        try:
            return tabs.get_pane(tabs.active).query_one(ChainTable)
        except Exception:
            return None

    @on(ChainTable.QuoteHighlighted)
    def _highlighted(self, event: ChainTable.QuoteHighlighted) -> None:
        event.stop()
        self._show_quote(event.quote)

    def _show_quote(self, q: OptionQuote | None) -> None:
        st = signal_styles(self.app)
        t = Text(no_wrap=True, overflow="ellipsis")
        if q is None:
            t.append("move onto a call or put to see it; b/s add it to the ticket", style=st.muted)
        else:
            t.append(q.contract.describe(), style="bold")
            t.append(f"  bid {q.bid:.2f} ask {q.ask:.2f} mid {q.mid:.2f}")
            if q.iv is not None:
                t.append(f"  IV {q.iv * 100:.1f}%")
            for name in ("delta", "gamma", "theta", "vega"):
                v = getattr(q, name)
                if v is not None:
                    t.append(f"  {name[0] if name != 'theta' else 'θ'} {v:+.3f}", style=st.muted)
        self.query_one("#chain-quote", Static).update(t)

    def _render_ticket(self) -> None:
        st = signal_styles(self.app)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("ticket: ", style=st.muted)
        if not self.legs:
            t.append(
                "empty — b buy / s sell the contract under the cursor, t to send", style=st.muted
            )
        else:
            t.append("  ".join(leg.label() for leg in self.legs), style="bold")
            mid = net_mid(self.legs)
            t.append(f"   net {abs(mid):.2f} {'credit' if mid < 0 else 'debit'}", style=st.accent)
        self.query_one("#chain-ticket", Static).update(t)

    # ------------------------------------------------------------------ actions
    def action_add_leg(self, side: str) -> None:
        table = self._active_table()
        q = table.selected_quote() if table is not None else None
        if q is None:
            self.notify("put the cursor on a call or put first", timeout=2)
            return
        if len(self.legs) >= MAX_LEGS:
            self.notify(f"a ticket holds at most {MAX_LEGS} legs", severity="warning")
            return
        if any(leg.quote.contract == q.contract for leg in self.legs):
            self.notify("that contract is already on the ticket", timeout=2)
            return
        self.legs.append(TicketLeg(q, Side(side)))
        self._render_ticket()

    def action_clear_legs(self) -> None:
        self.legs.clear()
        self._render_ticket()

    def action_open_ticket(self) -> None:
        if not self.legs:
            self.notify("the ticket is empty: b or s on a contract first", timeout=3)
            return
        legs = list(self.legs)

        def done(values: TicketValues | None) -> None:
            if values is None:
                return
            now = self.wsb.desk.now or (self.chain.ts if self.chain else None)
            if now is None:
                self.notify(
                    "engine clock unknown: cannot time-stamp the proposal", severity="error"
                )
                return
            try:
                proposal = build_manual_proposal(legs, values.quantity, values.limit, now)
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return
            self.legs.clear()
            self._render_ticket()
            self.wsb.run_command(
                "manual proposal", lambda: self.wsb.client.submit_proposal(proposal)
            )

        self.app.push_screen(TicketDialog(legs), done)

    def action_expiry(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        ids = [p.id for p in tabs.query(TabPane) if p.id]
        if not ids or tabs.active not in ids:
            return
        tabs.active = ids[(ids.index(tabs.active) + step) % len(ids)]
        self._fill_active()
        table = self._active_table()
        if table is not None:
            table.focus()

    def action_ask_symbol(self) -> None:
        def chosen(symbol: str | None) -> None:
            if symbol and symbol != self.symbol:
                self.symbol = symbol
                self.legs.clear()
                self._render_ticket()
                self._load()

        self.app.push_screen(PromptDialog("Option chain for symbol", value=self.symbol), chosen)
