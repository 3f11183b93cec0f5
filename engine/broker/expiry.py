"""Expiration: which expiring options are exercised, assigned, cash-settled or expire worthless.

A pure planner: given the expiring positions, the underlying closes, cash and shares, it returns
the settlement actions; the broker turns each action into an order and its fills, so the
ledger (cash, positions, realised P&L) stays the sum of fills.

Conventions (each action is one synthetic, already-filled order):

* the option position is closed by a fill at price 0 when it is exercised, assigned or expires
  worthless (its premium is already in cash), and at its intrinsic value when it is
  cash-settled (index options such as SPX: European, settled in cash);
* share delivery is a second fill at the strike: a long call buys shares, a long put sells them,
  an assigned short call sells them, an assigned short put buys them;
* an option is in the money when its intrinsic value against the underlying's close is at least
  $0.01 (the OCC's exercise-by-exception threshold);
* shorts settle first (assignment is not optional). A long equity option the account cannot take
  delivery of (a call without the cash, a put without the shares: no short stock in a cash
  account) is closed at its intrinsic value instead, like a broker selling it for the account at
  the close. A long call that covers shares an assignment left short is always exercised for
  them (a call spread settles at its width even when other positions used up the cash);
* an assignment a calendar or diagonal spread covers with a later-dated long is settled by
  exercising that long early (its time value is forfeited), so the account never ends short
  stock or short cash.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum

from engine.broker.margin import settlement_symbol
from engine.domain import OptionContract, Side
from engine.domain.instruments import CASH_SETTLED_INDEXES

ZERO = Decimal(0)
ITM_THRESHOLD = Decimal("0.01")
_PRICE_QUANTUM = Decimal("0.0001")


class ExpiryOutcome(StrEnum):
    EXPIRED_WORTHLESS = "expired_worthless"
    EXERCISED = "exercised"
    ASSIGNED = "assigned"
    CASH_SETTLED = "cash_settled"
    CLOSED_AT_INTRINSIC = "closed_at_intrinsic"
    EXERCISED_TO_COVER = "exercised_to_cover"


@dataclass(frozen=True, slots=True)
class ExpiryAction:
    """Settlement of `quantity` contracts of one position."""

    outcome: ExpiryOutcome
    contract: OptionContract
    quantity: int
    is_long: bool
    option_price: Decimal
    underlying: str
    underlying_close: Decimal
    share_side: Side | None = None

    @property
    def option_side(self) -> Side:
        """The side that closes the option position."""
        return Side.SELL if self.is_long else Side.BUY

    @property
    def share_quantity(self) -> int:
        return self.quantity * self.contract.multiplier if self.share_side is not None else 0

    @property
    def share_price(self) -> Decimal | None:
        return self.contract.strike if self.share_side is not None else None

    @property
    def cash_delta(self) -> Decimal:
        option_cash = self.option_price * self.quantity * self.contract.multiplier
        cash = option_cash if self.is_long else -option_cash
        if self.share_side is not None:
            shares_cash = self.contract.strike * self.share_quantity
            cash += shares_cash if self.share_side is Side.SELL else -shares_cash
        return cash

    @property
    def share_delta(self) -> int:
        if self.share_side is None:
            return 0
        return self.share_quantity if self.share_side is Side.BUY else -self.share_quantity

    def describe(self) -> str:
        what = {
            ExpiryOutcome.EXPIRED_WORTHLESS: "expired worthless",
            ExpiryOutcome.EXERCISED: "exercised",
            ExpiryOutcome.ASSIGNED: "assigned",
            ExpiryOutcome.CASH_SETTLED: f"cash-settled at {self.option_price}",
            ExpiryOutcome.CLOSED_AT_INTRINSIC: f"closed at intrinsic {self.option_price}",
            ExpiryOutcome.EXERCISED_TO_COVER: "exercised early to cover an assignment",
        }[self.outcome]
        side = "long" if self.is_long else "short"
        return (
            f"{self.quantity} {side} {self.contract.describe()} {what} "
            f"({self.underlying} close {self.underlying_close})"
        )


@dataclass(frozen=True, slots=True)
class ExpiryPlan:
    actions: tuple[ExpiryAction, ...]
    deferred: tuple[str, ...]  # settlement symbols without a close yet: retry later
    warnings: tuple[str, ...]


def intrinsic_value(contract: OptionContract, underlying_close: Decimal) -> Decimal:
    """Per-share intrinsic value against the close."""
    if contract.is_call:
        value = underlying_close - contract.strike
    else:
        value = contract.strike - underlying_close
    return max(ZERO, value).quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def is_in_the_money(contract: OptionContract, underlying_close: Decimal) -> bool:
    return intrinsic_value(contract, underlying_close) >= ITM_THRESHOLD


def is_cash_settled(contract: OptionContract) -> bool:
    return contract.is_european or settlement_symbol(contract) in CASH_SETTLED_INDEXES


def plan_expiry(
    expiring: Sequence[tuple[OptionContract, int]],
    closes: Mapping[str, Decimal],
    *,
    cash: Decimal,
    shares: Mapping[str, int],
    later_longs: Sequence[tuple[OptionContract, int]] = (),
) -> ExpiryPlan:
    """Settle `expiring` (contract, signed quantity) against `closes` (settlement symbol ->
    close). `later_longs` are long options of later expiries that may be exercised early to
    cover an assignment."""
    groups: dict[str, list[tuple[OptionContract, int]]] = defaultdict(list)
    for contract, qty in expiring:
        if qty != 0:
            groups[settlement_symbol(contract)].append((contract, qty))
    actions: list[ExpiryAction] = []
    deferred: list[str] = []
    warnings: list[str] = []
    running_cash = cash
    for root in sorted(groups):
        close = closes.get(root)
        if close is None:
            deferred.append(root)
            continue
        group = sorted(groups[root], key=lambda cq: cq[0].symbol)
        later = [(c, q) for c, q in later_longs if q > 0 and settlement_symbol(c) == root]
        group_actions, group_warnings = _plan_group(
            root, group, close, running_cash, shares.get(root, 0), later
        )
        for a in group_actions:
            running_cash += a.cash_delta
        actions.extend(group_actions)
        warnings.extend(group_warnings)
    return ExpiryPlan(tuple(actions), tuple(deferred), tuple(warnings))


def _plan_group(
    root: str,
    group: list[tuple[OptionContract, int]],
    close: Decimal,
    cash: Decimal,
    shares: int,
    later: list[tuple[OptionContract, int]],
) -> tuple[list[ExpiryAction], list[str]]:
    actions: list[ExpiryAction] = []
    warnings: list[str] = []

    def act(
        outcome: ExpiryOutcome,
        contract: OptionContract,
        qty: int,
        is_long: bool,
        price: Decimal = ZERO,
        share_side: Side | None = None,
    ) -> ExpiryAction:
        nonlocal cash, shares
        a = ExpiryAction(outcome, contract, qty, is_long, price, root, close, share_side)
        cash += a.cash_delta
        shares += a.share_delta
        actions.append(a)
        return a

    itm_long_puts: list[tuple[OptionContract, int]] = []
    itm_long_calls: list[tuple[OptionContract, int]] = []
    for contract, qty in group:
        is_long = qty > 0
        n = abs(qty)
        if not is_in_the_money(contract, close):
            act(ExpiryOutcome.EXPIRED_WORTHLESS, contract, n, is_long)
        elif is_cash_settled(contract):
            act(
                ExpiryOutcome.CASH_SETTLED,
                contract,
                n,
                is_long,
                intrinsic_value(contract, close),
            )
        elif not is_long:
            side = Side.SELL if contract.is_call else Side.BUY
            act(ExpiryOutcome.ASSIGNED, contract, n, False, ZERO, side)
        elif contract.is_call:
            itm_long_calls.append((contract, n))
        else:
            itm_long_puts.append((contract, n))

    # Most valuable first: the highest put, the lowest call.
    for contract, n in sorted(itm_long_puts, key=lambda cq: -cq[0].strike):
        deliverable = min(n, max(0, shares) // contract.multiplier)
        if deliverable:
            act(ExpiryOutcome.EXERCISED, contract, deliverable, True, ZERO, Side.SELL)
        if n - deliverable:
            act(
                ExpiryOutcome.CLOSED_AT_INTRINSIC,
                contract,
                n - deliverable,
                True,
                intrinsic_value(contract, close),
            )
    for contract, n in sorted(itm_long_calls, key=lambda cq: cq[0].strike):
        per_contract = contract.strike * contract.multiplier
        # A call spread's long leg delivers the shares its assigned short leg sold: it is
        # exercised for them whatever the cash (other positions may have spent it), or the
        # account would end short stock with the spread's width not settled.
        covering = -(min(0, shares) // contract.multiplier)  # ceil(short shares / multiplier)
        affordable = min(n, max(covering, int(max(ZERO, cash) // per_contract)))
        if affordable:
            act(ExpiryOutcome.EXERCISED, contract, affordable, True, ZERO, Side.BUY)
        if n - affordable:
            act(
                ExpiryOutcome.CLOSED_AT_INTRINSIC,
                contract,
                n - affordable,
                True,
                intrinsic_value(contract, close),
            )

    if shares < 0:
        for contract, qty in sorted(
            ((c, q) for c, q in later if c.is_call), key=lambda cq: (cq[0].strike, cq[0].expiry)
        ):
            if shares >= 0:
                break
            needed = -(shares // contract.multiplier)  # ceil(-shares / multiplier)
            n = min(qty, needed)
            act(ExpiryOutcome.EXERCISED_TO_COVER, contract, n, True, ZERO, Side.BUY)
    if cash < 0:
        for contract, qty in sorted(
            ((c, q) for c, q in later if not c.is_call),
            key=lambda cq: (-cq[0].strike, cq[0].expiry),
        ):
            if cash >= 0:
                break
            per_contract = contract.strike * contract.multiplier
            needed = int((-cash / per_contract).to_integral_value(rounding=ROUND_CEILING))
            n = min(qty, max(0, shares) // contract.multiplier, needed)
            if n:
                act(ExpiryOutcome.EXERCISED_TO_COVER, contract, n, True, ZERO, Side.SELL)
    if shares < 0:
        warnings.append(f"{root}: expiry leaves {shares} shares (short stock) after settlement")
    if cash < 0:
        warnings.append(f"{root}: expiry leaves cash at {cash} after settlement")
    return actions, warnings
