"""`wsb` on a real broker or real data: what is settled in the terminal before the desk opens.

The desk takes over the terminal, so anything a person must read or type comes first: missing
API keys, keys Alpaca refuses and an unreachable trading endpoint are reported here (exit
status 2, no traceback) for paper and live alike, and a live start asks for the last four
digits of the live account number on the plain terminal. The account is read once for the
check (and the prompt); the engine reads it again when it is built and the live gate compares
the typed digits with that second reading, so keys swapped in between cannot slip through. A
refusal the engine only finds while being built behind the desk closes the desk and is
reported the same way (`refusing_start`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import click

if TYPE_CHECKING:
    from engine.broker.alpaca import AlpacaSettings
    from engine.broker.protocol import Account
    from engine.runtime.config import WsbConfig
    from engine.secrets import AlpacaCredentials

EXIT_REFUSED = 2


def refuse(message: str) -> NoReturn:
    """Report `message` on stderr and leave with status 2 (no traceback)."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_REFUSED)


def needs_full_start(cfg: WsbConfig) -> bool:
    """Anything but the embedded simulator with the paper broker."""
    return cfg.broker.kind != "paper" or cfg.data.kind != "sim" or cfg.engine.mode == "live"


def prepare_real_start(
    cfg: WsbConfig, *, prompt: Callable[[str], str] | None = None
) -> Callable[..., Awaitable[Any]]:
    """Check keys against Alpaca (and, live, the typed confirmation); return the engine builder
    for the desk.

    `prompt` defaults to `click.prompt` on the terminal (Enter alone cancels).
    """
    from engine.runtime.embedded import build_embedded
    from engine.secrets import MissingCredentials, load_alpaca_credentials

    live = cfg.engine.mode == "live"
    if live and cfg.broker.kind != "alpaca":
        refuse("--live / engine.mode = 'live' needs --broker alpaca (the simulator has no money)")
    if cfg.broker.kind == "alpaca" or cfg.data.kind == "alpaca":
        try:
            load_alpaca_credentials()
        except MissingCredentials as exc:
            refuse(str(exc))
    if cfg.broker.kind == "alpaca" and cfg.data.kind not in ("alpaca", "yfinance"):
        refuse(
            f"--broker alpaca with data.kind = {cfg.data.kind!r}: a real account is never fed "
            "simulated prices; add --data alpaca (or yfinance)"
        )
    if not live:
        if cfg.broker.kind == "alpaca":
            _read_account(cfg, live=False)
        elif cfg.data.kind == "alpaca":
            _check_data_keys(cfg)
        return refusing_start(build_embedded)
    account = _read_account(cfg, live=True)
    typed = _confirm(account, prompt or _terminal_prompt)
    return refusing_start(functools.partial(build_embedded, live=True, confirm_live=typed))


def refusing_start(builder: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`builder` for the desk, with the engine's refusals (`UnsupportedSetup`) turned into a
    `StartAborted` with status 2: the desk closes and `report_aborted_start` says why on the
    plain terminal, instead of a desk left open without an engine."""
    from engine.runtime.embedded import UnsupportedSetup
    from wsb_tui.app import StartAborted

    async def build(*args: Any, **kw: Any) -> Any:
        try:
            return await builder(*args, **kw)
        except UnsupportedSetup as exc:
            raise StartAborted(str(exc), return_code=EXIT_REFUSED) from None

    return build


def report_aborted_start(app: object) -> None:
    """After the desk closed: a start the engine refused is reported with status 2."""
    aborted = getattr(app, "start_aborted", None)
    if aborted is not None:
        refuse(aborted.reason)


def _terminal_prompt(text: str) -> str:
    answer: str = click.prompt(text, default="", show_default=False, prompt_suffix="")
    return answer


def _read_account(cfg: WsbConfig, *, live: bool) -> Account:
    """The account the keys open, at the endpoint the engine will use; refused (status 2)
    when Alpaca refuses the keys, cannot be reached, or the account does not match the mode."""
    from engine.broker.alpaca import AlpacaBroker
    from engine.broker.alpaca.convert import PayloadError
    from engine.broker.alpaca.transport import AlpacaError
    from engine.runtime.embedded import account_problem
    from engine.runtime.live_gate import LiveGateError, check_account

    settings = _settings(cfg, live=live)
    creds = _credentials()

    async def read() -> Account:
        broker = AlpacaBroker(creds, settings)
        try:
            return await broker.account()
        finally:
            await broker.close()

    which: Literal["paper", "live"] = "live" if live else "paper"
    try:
        account = asyncio.run(read())
    except (AlpacaError, PayloadError) as exc:
        refuse(f"{which} account: {account_problem(exc, settings.effective_trading_url)}")
    try:
        check_account(which, account, targets_live_endpoint=settings.targets_live_endpoint)
    except LiveGateError as exc:
        refuse(str(exc))
    return account


def _check_data_keys(cfg: WsbConfig) -> None:
    """Alpaca data behind the paper broker: one quote, to learn whether Alpaca takes the keys.

    Only a refusal of the keys stops the start: an unreachable or empty feed is what the
    engine's failover (and its stale-data guard) is for."""
    from engine.broker.alpaca.transport import AlpacaError, FailureKind
    from engine.data.alpaca import AlpacaData
    from engine.data.protocol import DataUnavailable
    from engine.domain import BadMarketData

    # One attempt: a feed that is down is not refused, so retrying would only delay the desk.
    settings = dataclasses.replace(_settings(cfg, live=False), max_retries=0)
    data = AlpacaData(_credentials(), settings, with_open_interest=False)
    symbol = (cfg.alpaca.symbols or ["SPY"])[0]
    try:
        asyncio.run(data.latest_quote(symbol))
    except AlpacaError as exc:
        if exc.kind is FailureKind.AUTH:
            refuse(
                f"Alpaca market data refused the API keys at {settings.effective_data_url} "
                f"({exc}): check ALPACA_API_KEY and ALPACA_SECRET_KEY"
            )
    except (DataUnavailable, BadMarketData):
        pass  # the keys were accepted
    finally:
        data.close()


def _settings(cfg: WsbConfig, *, live: bool) -> AlpacaSettings:
    from engine.broker.alpaca import AlpacaSettings
    from engine.broker.alpaca.settings import AlpacaSettingsError

    try:
        return AlpacaSettings.resolve(cfg.alpaca, paper=not live)
    except AlpacaSettingsError as exc:
        refuse(str(exc))


def _credentials() -> AlpacaCredentials:
    from engine.secrets import install_log_redaction, load_alpaca_credentials

    creds = load_alpaca_credentials()  # present: checked by `prepare_real_start`
    install_log_redaction(*creds.secrets())
    return creds


def _confirm(account: Account, prompt: Callable[[str], str]) -> str:
    from engine.runtime.live_gate import LiveGateError, confirm_live

    typed: list[str] = []

    def asking(text: str) -> str:
        answer = prompt(text)
        typed.append(answer.strip())
        return answer

    try:
        confirm_live(account, headless=False, confirm_suffix=None, prompt=asking)
    except LiveGateError as exc:
        refuse(str(exc))
    return typed[-1]
