"""`wsb` on a real broker or real data: what is settled in the terminal before the desk opens.

The desk takes over the terminal, so anything a person must read or type comes first: missing
API keys are reported here (exit status 2, no traceback), and a live start asks for the last
four digits of the live account number on the plain terminal. The account is read once for
the prompt; the engine reads it again when it is built and the live gate compares the typed
digits with that second reading, so keys swapped in between cannot slip through.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from engine.broker.protocol import Account
    from engine.runtime.config import WsbConfig

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
    """Check keys (and, live, the typed confirmation); return the engine builder for the desk.

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
    if not live:
        return build_embedded
    account = _read_live_account(cfg)
    typed = _confirm(account, prompt or _terminal_prompt)
    return functools.partial(build_embedded, live=True, confirm_live=typed)


def _terminal_prompt(text: str) -> str:
    answer: str = click.prompt(text, default="", show_default=False, prompt_suffix="")
    return answer


def _read_live_account(cfg: WsbConfig) -> Account:
    from engine.broker.alpaca import AlpacaBroker, AlpacaSettings
    from engine.broker.alpaca.convert import PayloadError
    from engine.broker.alpaca.settings import AlpacaSettingsError
    from engine.broker.alpaca.transport import AlpacaError
    from engine.runtime.embedded import account_problem
    from engine.runtime.live_gate import LiveGateError, check_account
    from engine.secrets import install_log_redaction, load_alpaca_credentials

    creds = load_alpaca_credentials()
    install_log_redaction(*creds.secrets())
    try:
        settings = AlpacaSettings.resolve(cfg.alpaca, paper=False)
    except AlpacaSettingsError as exc:
        refuse(str(exc))

    async def read() -> Account:
        broker = AlpacaBroker(creds, settings)
        try:
            return await broker.account()
        finally:
            await broker.close()

    try:
        account = asyncio.run(read())
    except (AlpacaError, PayloadError) as exc:
        refuse(account_problem(exc, settings.effective_trading_url))
    try:
        check_account("live", account, targets_live_endpoint=settings.targets_live_endpoint)
    except LiveGateError as exc:
        refuse(str(exc))
    return account


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
