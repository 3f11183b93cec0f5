"""The live-trading gate: paper unless a person asks for live three separate ways.

Live trading (real money on Alpaca) starts only when all of these hold:

1. live was asked for: ``--live`` on the command line or ``[engine] mode = "live"``;
2. the account really is live (Alpaca paper account numbers start with ``PA``) and the
   trading URL is not the paper endpoint, and in paper mode the URL is not the live one;
3. a person typed the last four digits of the account number at start, or, headless, passed
   them as ``--confirm-live SUFFIX``. The prompt never shows the digits: typing them proves
   the person looked at the right account;
4. risk limits: the conservative profile's account-wide limits (research_2024: 5 % per
   position, 10 % total risk) apply to every strategy unless the `[risk]` value was set
   explicitly in the config (file, environment or flag), which is then kept and reported.

Spec §4 also asks for a paper track record before live (>= 14 paper days, >= 10 paper trades,
paper loss <= 20 %); `paper_record_problems` checks it from numbers the store can provide.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.broker.protocol import Account
from engine.strategies.base import DEFAULT_PROFILE, PROFILE_LIMITS

Mode = Literal["paper", "live"]
CONSERVATIVE_PROFILE = DEFAULT_PROFILE  # research_2024
MIN_PAPER_DAYS = 14
MIN_PAPER_TRADES = 10
MAX_PAPER_LOSS = 0.20


class LiveGateError(RuntimeError):
    """Live trading refused; the message says exactly what is missing."""


@dataclass(frozen=True, slots=True)
class LiveDecision:
    mode: Mode
    risk_overrides: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def is_live(self) -> bool:
        return self.mode == "live"


def requested_mode(config_mode: str, live_flag: bool) -> Mode:
    """Paper by default; live when the flag or the config says so."""
    if config_mode not in ("paper", "live"):
        raise LiveGateError(f"engine.mode = {config_mode!r} -> must be 'paper' or 'live'")
    return "live" if live_flag or config_mode == "live" else "paper"


def conservative_risk_overrides(risk: Any) -> tuple[dict[str, float], list[str]]:
    """Conservative account-wide sizing limits for the `[risk]` fields not set explicitly.

    `risk` is the `RiskConfig` pydantic model: `model_fields_set` says what the user set.
    """
    limits = PROFILE_LIMITS[CONSERVATIVE_PROFILE]
    wanted = {
        "max_position_pct": limits.max_position_size,
        "max_total_risk_pct": limits.max_total_risk,
    }
    explicit = set(getattr(risk, "model_fields_set", set()))
    overrides: dict[str, float] = {}
    notes: list[str] = []
    for name, value in wanted.items():
        current = getattr(risk, name, None)
        if name in explicit and current is not None:
            notes.append(
                f"risk.{name} = {current} set explicitly: kept for live trading "
                f"(the conservative profile would use {value})"
            )
        else:
            overrides[name] = value
            notes.append(f"risk.{name} = {value} (conservative profile {CONSERVATIVE_PROFILE})")
    return overrides, notes


def _suffix(account_number: str) -> str:
    return account_number[-4:]


def check_account(mode: Mode, account: Account, *, targets_live_endpoint: bool) -> None:
    """The account and the endpoint must match the mode, both ways."""
    if mode == "paper":
        if targets_live_endpoint or not account.is_paper:
            raise LiveGateError(
                "paper mode, but the Alpaca trading URL/account is LIVE (real money): use the "
                "paper endpoint and paper keys, or start with --live deliberately"
            )
        return
    if account.is_paper:
        raise LiveGateError(
            "live mode asked for, but these keys belong to an Alpaca PAPER account (number "
            "starting with PA): use live keys and the live endpoint, or drop --live"
        )


def confirm_live(
    account: Account,
    *,
    headless: bool,
    confirm_suffix: str | None,
    prompt: Callable[[str], str] | None = None,
) -> None:
    """The typed confirmation of the account number's last four digits."""
    expected = _suffix(account.account_id)
    if headless or prompt is None:
        if not confirm_suffix:
            raise LiveGateError(
                "a headless live start needs --confirm-live SUFFIX: the last four digits of "
                "the live Alpaca account number"
            )
        if not hmac.compare_digest(confirm_suffix.strip().encode(), expected.encode()):
            raise LiveGateError(
                "--confirm-live does not match the last four digits of the live account "
                "number; nothing was started"
            )
        return
    answer = prompt(
        "LIVE TRADING with real money on Alpaca. Type the last four digits of the account "
        "number to continue (anything else cancels): "
    )
    if not hmac.compare_digest(answer.strip().encode(), expected.encode()):
        raise LiveGateError("confirmation did not match the account number; live start canceled")


def decide(
    *,
    config_mode: str,
    live_flag: bool,
    account: Account,
    targets_live_endpoint: bool,
    risk: Any,
    headless: bool,
    confirm_suffix: str | None = None,
    prompt: Callable[[str], str] | None = None,
) -> LiveDecision:
    """The whole gate: paper (with its own checks) or a confirmed, conservatively-limited live."""
    mode = requested_mode(config_mode, live_flag)
    check_account(mode, account, targets_live_endpoint=targets_live_endpoint)
    if mode == "paper":
        notes = ("--confirm-live ignored: running on paper",) if confirm_suffix else ()
        return LiveDecision("paper", {}, notes)
    confirm_live(account, headless=headless, confirm_suffix=confirm_suffix, prompt=prompt)
    overrides, live_notes = conservative_risk_overrides(risk)
    return LiveDecision("live", overrides, tuple(live_notes))


def paper_record_problems(paper_days: int, paper_trades: int, paper_loss_pct: float) -> list[str]:
    """Spec §4's live-trading gate on the paper track record; empty when it is met."""
    out = []
    if paper_days < MIN_PAPER_DAYS:
        out.append(f"paper trading days {paper_days} < {MIN_PAPER_DAYS}")
    if paper_trades < MIN_PAPER_TRADES:
        out.append(f"paper trades {paper_trades} < {MIN_PAPER_TRADES}")
    if paper_loss_pct > MAX_PAPER_LOSS:
        out.append(f"paper loss {paper_loss_pct:.1%} > {MAX_PAPER_LOSS:.0%}")
    return out
