"""``AsyncPaperExchange``: the paper exchange for asyncio code, as ``ccxt.async_support``.

Same methods as ``PaperExchange``, awaited. The simulated latency is awaited on
the event loop (``asyncio.sleep``), so a thousand requests in flight cost no
threads; only the database work runs in a worker thread, never holding a
transaction across an ``await``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asgiref.sync import sync_to_async

from paper.config import PaperConfig
from paper.exchange import PaperExchange

# The calls that are requests to the exchange (the rest are local helpers).
REQUESTS = (
    "fetch_markets",
    "fetch_time",
    "fetch_ticker",
    "fetch_tickers",
    "fetch_ohlcv",
    "fetch_balance",
    "check_permissions",
    "create_order",
    "fetch_order",
    "fetch_open_orders",
    "fetch_my_trades",
    "cancel_order",
)


class AsyncPaperExchange:
    def __init__(
        self,
        ccxt_config: Mapping[str, Any] | None = None,
        *,
        config: PaperConfig | None = None,
        **options: Any,
    ) -> None:
        config = config or PaperConfig.from_settings()
        self.latency_ms = config.latency_ms
        # The wrapped exchange does the work without sleeping; the waits happen here.
        self._exchange = PaperExchange(
            ccxt_config, config=dataclasses.replace(config, latency_ms=0), **options
        )

    def __getattr__(self, name: str) -> Any:
        # Markets, symbols, precision helpers, apiKey ...: as the synchronous exchange.
        return getattr(self._exchange, name)

    def __repr__(self) -> str:
        return f"<AsyncPaperExchange key={'set' if self._exchange.apiKey else 'none'}>"

    async def _travel(self) -> None:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 2000)

    async def _request(self, name: str, *args: Any, **kwargs: Any) -> Any:
        await self._travel()
        try:
            work = getattr(self._exchange, name)
            return await sync_to_async(work, thread_sensitive=False)(*args, **kwargs)
        finally:
            await self._travel()

    async def load_markets(
        self, reload: bool = False, params: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        if self._exchange.markets is not None and not reload:
            return self._exchange.markets  # cached, as in ccxt: no request
        return await self._request("load_markets", True, params)

    async def close(self) -> None:
        """Nothing to release; ccxt's async exchanges must be closed, so this one can be."""


def _awaitable(name: str) -> Callable[..., Awaitable[Any]]:
    async def call(self: AsyncPaperExchange, *args: Any, **kwargs: Any) -> Any:
        return await self._request(name, *args, **kwargs)

    call.__name__ = name
    call.__doc__ = getattr(PaperExchange, name).__doc__
    return call


for _name in REQUESTS:
    setattr(AsyncPaperExchange, _name, _awaitable(_name))
