"""The trade-updates websocket through alpaca-py's `TradingStream`, with connection state.

`TradingStream` reconnects by itself and swallows the error, so its user cannot tell that
updates were missed. `TradeUpdateStream` subclasses it to report every connect and
disconnect; the broker then polls orders over REST while the stream is down and once more
right after it is back, so nothing sent during the gap is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from engine.broker.alpaca.settings import AlpacaSettings
from engine.secrets import AlpacaCredentials

log = logging.getLogger(__name__)

UpdateHandler = Callable[[Mapping[str, Any]], Awaitable[None]]
StateHandler = Callable[[bool], None]


class TradeUpdateStream:
    """Runs the stream as a task on the current loop; `connected` tells its state."""

    def __init__(
        self,
        credentials: AlpacaCredentials,
        settings: AlpacaSettings,
        on_update: UpdateHandler,
        on_state: StateHandler,
        *,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 30.0,
    ) -> None:
        from alpaca.trading.stream import TradingStream

        self.connected = False
        self.connects = 0
        self.disconnects = 0
        stream_self = self

        class _Observed(TradingStream):
            async def _start_ws(self) -> None:
                await super()._start_ws()  # type: ignore[no-untyped-call]
                stream_self._set(True)

            async def close(self) -> None:
                had_socket = self._ws is not None
                await super().close()
                if had_socket:
                    stream_self._set(False)

        self._on_state = on_state
        self._stream = _Observed(
            credentials.key_id.reveal(),
            credentials.secret_key.reveal(),
            paper=settings.paper,
            raw_data=True,
            url_override=settings.effective_stream_url,
        )
        # Private knobs of TradingStream: its reconnect back-off (with jitter) bounds.
        self._stream._reconnect_min_backoff = reconnect_min_s
        self._stream._reconnect_max_backoff = reconnect_max_s

        async def handler(msg: Any) -> None:
            data = msg.get("data") if isinstance(msg, Mapping) else None
            if isinstance(data, Mapping):
                await on_update(data)

        self._stream.subscribe_trade_updates(handler)
        self._task: asyncio.Task[None] | None = None

    def _set(self, up: bool) -> None:
        if up == self.connected:
            return
        self.connected = up
        if up:
            self.connects += 1
            log.info("alpaca trade stream connected")
        else:
            self.disconnects += 1
            log.warning("alpaca trade stream disconnected; polling orders until it is back")
        self._on_state(up)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                self._stream._run_forever(),  # type: ignore[no-untyped-call]
                name="alpaca-stream",
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        with contextlib.suppress(Exception):
            await self._stream.stop_ws()
        # TradingStream only checks its stop flag between 5 s receive timeouts: cancel.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(Exception):
            await self._stream.close()
        self._set(False)
