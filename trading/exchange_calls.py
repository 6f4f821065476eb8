"""Calls to an exchange on a bot's behalf, inside the shared rate limits.

Every request spends from the weight budget of our outgoing IP (shared by all
users' bots) and every order from the account's order budgets; a Retry-After
or an IP ban recorded by any process stops the others too.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import ccxt
from django.conf import settings

from trading.limits import Budget, block, blocked_for, observe_usage, try_spend
from trading.published_limits import limits_for, refresh_published_limits

T = TypeVar("T")

# Binance request weights of the calls we make (api/v3, spot). Elsewhere 1 each.
WEIGHTS = {
    "load_markets": 20,
    "fetch_ticker": 2,
    "fetch_balance": 20,
    "create_order": 1,
    "fetch_order": 4,
    "fetch_open_orders": 6,
    "fetch_my_trades": 20,
    "cancel_order": 1,
}
# A wait this short is slept through; a longer one defers the work to the sweeper.
MAX_INLINE_WAIT = 2.0


class RateLimited(Exception):
    """A shared budget is spent or a ban is in force; try again after ``retry_after``."""

    def __init__(self, retry_after: float, why: str) -> None:
        self.retry_after = retry_after
        super().__init__(f"{why}; retry in {retry_after:.0f} s")


def ip_key(exchange_id: str) -> str:
    return f"ip:{exchange_id}"


def weight_budget(exchange_id: str) -> Budget:
    limits = limits_for(exchange_id)
    window = int(limits.get("weight_window", 60))
    return Budget(
        key=f"{ip_key(exchange_id)}:weight", limit=limits["weight_per_minute"], window=window
    )


def order_budgets(exchange_id: str, credential_id: object) -> list[Budget]:
    limits = limits_for(exchange_id)
    return [
        Budget(key=f"acct:{credential_id}:orders:10s", limit=limits["orders_per_10s"], window=10),
        Budget(key=f"acct:{credential_id}:orders:1d", limit=limits["orders_per_day"], window=86400),
    ]


def _spend(budget: Budget, amount: int, why: str) -> None:
    for _ in range(3):
        wait = try_spend(budget, amount)
        if wait == 0:
            return
        if wait > MAX_INLINE_WAIT:
            raise RateLimited(wait, why)
        time.sleep(wait)
    raise RateLimited(MAX_INLINE_WAIT, why)


def retry_after_of(exc: Exception) -> float | None:
    """The Retry-After an exchange sent with a 429/418, where ccxt kept it."""
    value = getattr(exc, "retry_after", None)
    if value is None:
        match = re.search(r"retry[- ]after\D{0,5}(\d+)", str(exc), re.IGNORECASE)
        value = match.group(1) if match else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def is_ip_ban(exc: Exception) -> bool:
    return (
        " 418 " in f" {exc} " or "418" in str(getattr(exc, "status", "")) or "IP banned" in str(exc)
    )


def call(
    client: Any,
    exchange_id: str,
    method: str,
    *args: Any,
    credential_id: object = None,
    **kwargs: Any,
) -> Any:
    """``client.method(*args, **kwargs)`` within the shared budgets.

    Raises RateLimited instead of calling when a budget is spent or a ban holds;
    records Retry-After and bans for every process when the exchange sends them.
    """
    banned = blocked_for(ip_key(exchange_id))
    if banned:
        raise RateLimited(banned, f"{exchange_id} has told us to slow down or banned our IP")
    _spend(weight_budget(exchange_id), WEIGHTS.get(method, 1), "request weight budget spent")
    if method == "create_order" and credential_id is not None:
        for budget in order_budgets(exchange_id, credential_id):
            _spend(budget, 1, "order budget of this account spent")
    try:
        result = getattr(client, method)(*args, **kwargs)
    except ccxt.DDoSProtection as exc:
        if _is_key_rejection(exc):
            raise  # a revoked key, not a rate limit: the caller disables it
        # 429 and 418 are refused before they are processed: nothing happened.
        if is_ip_ban(exc):
            seconds = retry_after_of(exc) or settings.EXCHANGE_BAN_DEFAULT_SECONDS
        else:
            seconds = retry_after_of(exc) or 60
        block(ip_key(exchange_id), seconds=seconds)
        raise RateLimited(seconds, f"{exchange_id} asked us to slow down") from None
    _observe_headers(client, exchange_id)
    return result


def _is_key_rejection(exc: Exception) -> bool:
    # Binance -2015 after a successful private call surfaces as DDoSProtection.
    return bool(re.search(r'"code"\s*:\s*-2015', str(exc)))


def _observe_headers(client: Any, exchange_id: str) -> None:
    headers = getattr(client, "last_response_headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "x-mbx-used-weight-1m":
            with contextlib.suppress(TypeError, ValueError):
                observe_usage(weight_budget(exchange_id), int(value))


def with_limits(client: Any, exchange_id: str, credential_id: object) -> Callable[..., Any]:
    """A shortcut bound to one client: ``api("fetch_order", ...)``.

    Reads the exchange's published limits first (at most hourly, shared).
    """
    refresh_published_limits(client, exchange_id)

    def api(method: str, *args: Any, **kwargs: Any) -> Any:
        return call(client, exchange_id, method, *args, credential_id=credential_id, **kwargs)

    return api
