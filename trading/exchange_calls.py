"""Calls to an exchange on a bot's behalf, inside the shared rate limits.

Every request spends from the weight budget of our outgoing IP (shared by all
users' bots) and every order from the account's order budgets; a Retry-After
or an IP ban recorded by any process stops the others too, for as long as the
exchange said, and no request goes out while it holds.

ccxt clients are prepared before their first request (``trading.market_cache``):
markets come from the shared cache instead of a download per task, and the
clock offset to the exchange is applied, so Binance does not refuse requests
with -1021. A -1021 that still happens re-syncs the clock and retries once.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import ccxt
from django.conf import settings

from trading import market_cache
from trading.limits import (
    Budget,
    Spending,
    block,
    observe_usages,
    try_spend_all_unless_blocked,
)
from trading.published_limits import limits_for, refresh_published_limits

BINANCE_LIKE = ("binance", "binanceus")
# Binance request weights (api/v3, spot) of the calls we make; ``request_weight``
# adjusts those that depend on their parameters. Other exchanges: same table.
WEIGHTS = {
    "load_markets": 20,
    "fetch_markets": 20,
    "load_time_difference": 1,
    "fetch_time": 1,
    "fetch_ticker": 2,
    "fetch_balance": 20,
    # Successful order requests weigh 0 on Binance since 2026-04-02; every order
    # still counts in the account's order budgets (see ``order_budgets``).
    "create_order": 0,
    "fetch_order": 4,
    "fetch_open_orders": 6,
    "fetch_my_trades": 20,
    "cancel_order": 1,
}
WEIGHT_MY_TRADES_BY_ORDER = 5
WEIGHT_OPEN_ORDERS_ALL_MARKETS = 80
# A wait this short is slept through; a longer one defers the work to the sweeper.
MAX_INLINE_WAIT = 2.0
# A 429 that names no wait (Binance always does; others may not).
DEFAULT_RETRY_AFTER = 60


class MalformedReply(ccxt.BadResponse):  # type: ignore[misc]  # ccxt is untyped
    """The exchange answered with something ccxt could not read (a word or NaN where a
    number goes, a field missing). An ``OperationFailed``: like a 5xx, it does not say
    whether an order exists, so an order in this state is looked up, never resent blind."""


# What ccxt raises while parsing a reply it cannot read: Python's own errors, not ccxt's.
PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError)


def sent_nothing(exc: BaseException) -> bool:
    """True only when ``request`` saw the ccxt client refuse the call before its HTTP layer
    was entered (ccxt's own argument, symbol, amount or precision checks): nothing can
    have reached the exchange. False whenever that is not proven (another client, a
    request that started), so the caller keeps the safe default: in doubt."""
    return getattr(exc, "oneclick_sent_nothing", False) is True


def _http_calls(client: Any) -> int:
    """How many times this ccxt client has entered ``fetch``, its one door to HTTP: counted
    by a wrapper put on the instance at its first request through us."""
    counter = getattr(client, "_oneclick_fetch_counter", None)
    if counter is None:
        with _COUNTERS_LOCK:  # a shared public client may be first used on two threads
            counter = getattr(client, "_oneclick_fetch_counter", None)
            if counter is None:
                counter = _FetchCounter()
                counter.wrap(client)
    return counter.value


class _FetchCounter:
    def __init__(self) -> None:
        # Locked: a lost increment from another thread must never read as "none".
        self._lock = threading.Lock()
        self.value = 0

    def wrap(self, client: Any) -> None:
        fetch = client.fetch

        def counted_fetch(*args: Any, **kwargs: Any) -> Any:
            with self._lock:  # before anything: once entered, a request may go out
                self.value += 1
            return fetch(*args, **kwargs)

        client.fetch = counted_fetch
        client._oneclick_fetch_counter = self


_COUNTERS_LOCK = threading.Lock()


class RateLimited(Exception):
    """A shared budget is spent or a ban is in force; try again after ``retry_after``.

    ``in_doubt``: the exchange itself answered the request with a 429, so it reached
    the exchange, and an order request may have been carried out. Not after a 418 (a
    banned IP's requests are refused outright) nor when our own budgets or a recorded
    ban kept the request from going out."""

    def __init__(self, retry_after: float, why: str, *, in_doubt: bool = False) -> None:
        self.retry_after = retry_after
        self.in_doubt = in_doubt
        super().__init__(f"{why}; retry in {math.ceil(retry_after)} s")


def ip_key(exchange_id: str) -> str:
    return f"ip:{exchange_id}"


def account_orders_key(credential_id: object) -> str:
    return f"acct:{credential_id}:orders"


def weight_budget(exchange_id: str, limits: Mapping[str, int] | None = None) -> Budget:
    limits = limits or limits_for(exchange_id)
    window = int(limits.get("weight_window", 60))
    return Budget(
        key=f"{ip_key(exchange_id)}:weight", limit=limits["weight_per_minute"], window=window
    )


def order_budgets(
    exchange_id: str, credential_id: object, limits: Mapping[str, int] | None = None
) -> list[Budget]:
    limits = limits or limits_for(exchange_id)
    return [
        Budget(key=f"acct:{credential_id}:orders:10s", limit=limits["orders_per_10s"], window=10),
        Budget(key=f"acct:{credential_id}:orders:1d", limit=limits["orders_per_day"], window=86400),
    ]


def _argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def request_weight(
    exchange_id: str,
    method: str,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
) -> int:
    """What one ccxt call costs in the exchange's request weight."""
    kwargs = kwargs or {}
    if method == "create_order" and exchange_id not in BINANCE_LIKE:
        return 1
    if method == "fetch_my_trades":
        params = _argument(args, kwargs, 3, "params") or {}
        if params.get("orderId") is not None:
            return WEIGHT_MY_TRADES_BY_ORDER  # Binance myTrades by orderId
    if method == "fetch_open_orders" and not _argument(args, kwargs, 0, "symbol"):
        return WEIGHT_OPEN_ORDERS_ALL_MARKETS
    return WEIGHTS.get(method, 1)


def _spend_all(
    costs: list[tuple[Budget, int, str]], exchange_id: str, method: str, credential_id: object
) -> Spending:
    """Refuse while a ban holds, then spend every budget of a request or none, waiting
    inline for a window that turns soon; one round trip to Redis per try (bans and
    budgets together). A refused budget never leaves the others spent, and a ban
    another process records while we wait is seen by the next try."""
    keys = _block_keys(exchange_id, method, credential_id)
    why = costs[0][2] if costs else ""
    for _ in range(3):
        spending = try_spend_all_unless_blocked(
            keys, [(budget, amount) for budget, amount, _ in costs]
        )
        _refuse_while_blocked(exchange_id, spending.blocked)
        if spending.refused < 0:
            return spending
        why = costs[spending.refused][2]
        if spending.wait > MAX_INLINE_WAIT:
            raise RateLimited(spending.wait, why)
        time.sleep(spending.wait)
    raise RateLimited(MAX_INLINE_WAIT, why)


def _block_keys(exchange_id: str, method: str, credential_id: object) -> list[str]:
    keys = [ip_key(exchange_id)]
    if method == "create_order" and credential_id is not None:
        keys.append(account_orders_key(credential_id))
    return keys


def _refuse_while_blocked(exchange_id: str, waits: list[float]) -> None:
    if waits[0]:
        raise RateLimited(waits[0], f"{exchange_id} has told us to slow down or banned our IP")
    if len(waits) > 1 and waits[1]:
        raise RateLimited(waits[1], "order limit of this account reached")


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _seconds_from_retry_after(value: str | None, now: float) -> float | None:
    # RFC 9110: delay-seconds or an HTTP date; Binance sends seconds.
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return parsedate_to_datetime(value).timestamp() - now
    return None


def _banned_until(text: str) -> float | None:
    # Binance: "IP banned until 1700000000000." (epoch ms, the exchange's clock).
    match = re.search(r"banned until\D{0,3}(\d{10,13})", text, re.IGNORECASE)
    if not match:
        return None
    stamp = int(match.group(1))
    return stamp / 1000 if stamp >= 10**12 else float(stamp)


def retry_after_of(exc: Exception, client: Any = None, *, now: float | None = None) -> float | None:
    """Seconds the exchange asked us to wait with a 429/418, or None if it did not say.

    ccxt's exceptions carry neither Retry-After nor the end of a ban: they are
    read from the client's last response headers and from the reply body in the
    exception's message. When both are given, the longer wait wins. A "banned
    until" time is on the exchange's clock; the client's known offset to it
    (``options['timeDifference']``) turns it into ours.
    """
    now = time.time() if now is None else now
    waits: list[float] = []
    attribute = getattr(exc, "retry_after", None)  # the paper exchange sets it
    with contextlib.suppress(TypeError, ValueError):
        if attribute is not None:
            waits.append(float(attribute))
    headers = getattr(client, "last_response_headers", None) if client is not None else None
    header = _seconds_from_retry_after(_header(headers, "Retry-After"), now)
    if header is not None:
        waits.append(header)
    text = f"{exc} {getattr(client, 'last_http_response', '') or ''}"
    until = _banned_until(text)
    if until is not None:
        offset_ms = 0
        if client is not None:
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                offset_ms = int(client.options.get("timeDifference") or 0)
        waits.append(until + offset_ms / 1000 - now)
    if not waits:
        match = re.search(r"retry[- ]after\D{0,5}(\d+)", str(exc), re.IGNORECASE)
        if match:
            waits.append(float(match.group(1)))
    return max(1.0, max(waits)) if waits else None


def is_ip_ban(exc: Exception) -> bool:
    return (
        " 418 " in f" {exc} "
        or "418" in str(getattr(exc, "status", ""))
        or "ip banned" in str(exc).lower()
    )


def _order_limit_window(exc: Exception) -> float | None:
    # Binance -1015 "Too many new orders; current limit is 50 orders per 10 SECOND."
    # The limit is the account's, not the IP's, and names no wait: its window does.
    text = str(exc)
    if not re.search(r'"code"\s*:\s*-1015', text):
        return None
    if re.search(r"per\s+1\s+DAY", text, re.IGNORECASE):
        return 86400.0
    return 10.0


def call(
    client: Any,
    exchange_id: str,
    method: str,
    *args: Any,
    credential_id: object = None,
    limits: Mapping[str, int] | None = None,
    **kwargs: Any,
) -> Any:
    """``client.method(*args, **kwargs)`` within the shared budgets.

    Before the first request of a ccxt client, its markets are injected from the
    shared cache (downloaded at most hourly, for every process) and its clock
    offset is applied; ``load_markets`` itself is answered from that cache.
    Raises RateLimited instead of calling when a budget is spent or a ban holds,
    and after a 429/418, whose wait (Retry-After, "banned until") it records for
    every process. A Binance -1021 (``ccxt.InvalidNonce``: refused, nothing
    done) re-syncs the clock and retries once; a second one propagates.
    Every other ccxt error propagates unchanged; a reply ccxt itself cannot parse
    (its own ValueError, TypeError …) is raised as ``MalformedReply``. An error the
    ccxt client raised before entering its HTTP layer is marked (``sent_nothing``).
    """
    if isinstance(client, ccxt.Exchange):
        if method == "load_markets":
            return market_cache.load_markets(client, exchange_id, reload=bool(args and args[0]))
        market_cache.prepare(client, exchange_id)
    elif method == "load_markets" and not (args and args[0]):
        return market_cache.plain_markets(client, exchange_id)
    kwargs.update(credential_id=credential_id, limits=limits)
    try:
        return request(client, exchange_id, method, *args, **kwargs)
    except ccxt.InvalidNonce:
        if not market_cache.keeps_clock(client, exchange_id):
            raise
        market_cache.sync_clock(client, exchange_id, force=True)
        return request(client, exchange_id, method, *args, **kwargs)


def request(
    client: Any,
    exchange_id: str,
    method: str,
    *args: Any,
    credential_id: object = None,
    limits: Mapping[str, int] | None = None,
    **kwargs: Any,
) -> Any:
    """One request, as ``call`` makes it, without preparing the client first.

    For the code that prepares clients (``trading.market_cache``); everything
    else uses ``call``. Side effects: spends from the shared budgets, records
    429/418 waits for every process; raises as ``call`` does, except that a
    -1021 is not retried here.
    """
    # Read once per request (or once per batch, by the caller), not per budget.
    limits = limits or limits_for(exchange_id)
    costs = [
        (
            weight_budget(exchange_id, limits),
            request_weight(exchange_id, method, args, kwargs),
            "request weight budget spent",
        )
    ]
    if method == "create_order" and credential_id is not None:
        costs += [
            (budget, 1, "order budget of this account spent")
            for budget in order_budgets(exchange_id, credential_id, limits)
        ]
    # Bans first, then all of the budgets or none, in one step: the weight is not spent
    # for an order the account's order budget refuses, nor the other way round.
    spending = _spend_all(costs, exchange_id, method, credential_id)
    http_before = _http_calls(client) if isinstance(client, ccxt.Exchange) else None
    try:
        try:
            result = getattr(client, method)(*args, **kwargs)
        except Exception as exc:
            if http_before is not None and _http_calls(client) == http_before:
                exc.oneclick_sent_nothing = True  # type: ignore[attr-defined]
            raise
    except ccxt.DDoSProtection as exc:
        if _is_key_rejection(exc):
            raise  # a revoked key, not a rate limit: the caller disables it
        # Every process waits; an order answered 429 is looked up (trading.orders).
        raise _record_slow_down(exc, client, exchange_id, credential_id) from None
    except ccxt.BaseError:
        raise
    except PARSE_ERRORS as exc:
        if not isinstance(client, ccxt.Exchange):
            raise
        if sent_nothing(exc):
            # ccxt failed on its own before any request: not a reply, and not in doubt.
            local = ccxt.ExchangeError(
                f"ccxt could not build the {exchange_id} {method} request ({type(exc).__name__})"
            )
            local.oneclick_sent_nothing = True
            raise local from exc
        raise MalformedReply(
            f"{exchange_id} answered {method} with a reply that could not be read "
            f"({type(exc).__name__})"
        ) from exc
    _observe_headers(client, exchange_id, credential_id, limits, spending.counted)
    return result


def _record_slow_down(
    exc: Exception, client: Any, exchange_id: str, credential_id: object
) -> RateLimited:
    window = _order_limit_window(exc)
    if window is not None:
        # Our order budgets were too generous for this account: pause its orders
        # (only them) until the exchange's fixed window turns.
        seconds = max(1.0, window - time.time() % window)
        if credential_id is not None:
            block(account_orders_key(credential_id), seconds=seconds)
        return RateLimited(seconds, "order limit of this account reached", in_doubt=True)
    asked = retry_after_of(exc, client)
    if asked is not None:
        seconds = asked
    else:
        seconds = settings.EXCHANGE_BAN_DEFAULT_SECONDS if is_ip_ban(exc) else DEFAULT_RETRY_AFTER
    block(ip_key(exchange_id), seconds=seconds)
    if is_ip_ban(exc):
        return RateLimited(seconds, f"{exchange_id} banned our IP")
    return RateLimited(seconds, f"{exchange_id} asked us to slow down", in_doubt=True)


def _is_key_rejection(exc: Exception) -> bool:
    # Binance -2015 after a successful private call surfaces as DDoSProtection.
    return bool(re.search(r'"code"\s*:\s*-2015', str(exc)))


def _observe_headers(
    client: Any,
    exchange_id: str,
    credential_id: object,
    limits: Mapping[str, int],
    counted: Mapping[str, tuple[int, int]] | None = None,
) -> None:
    headers = getattr(client, "last_response_headers", None) or {}
    observed: list[tuple[Budget, int]] = []
    used = _header(headers, "X-MBX-USED-WEIGHT-1M")
    if used is not None:
        with contextlib.suppress(TypeError, ValueError):
            observed.append((weight_budget(exchange_id, limits), int(used)))
    orders = _header(headers, "X-MBX-ORDER-COUNT-10S")
    if orders is not None and credential_id is not None:
        with contextlib.suppress(TypeError, ValueError):
            observed.append((order_budgets(exchange_id, credential_id, limits)[0], int(orders)))
    # One write for both, none when neither is above what we counted ourselves.
    observe_usages(observed, counted=counted)


def with_limits(
    client: Any,
    exchange_id: str,
    credential_id: object,
    *,
    refresh: bool = True,
    limits: Mapping[str, int] | None = None,
) -> Callable[..., Any]:
    """A shortcut bound to one client: ``api("fetch_order", ...)``.

    Reads the exchange's published limits first (at most hourly, shared; from
    the same exchangeInfo reply as the markets, so a cold start asks once), unless
    ``refresh`` is False: a batch refreshes them once per exchange, not per account,
    and passes them as ``limits`` (then not read again for every request).
    """
    if refresh:
        refresh_published_limits(client, exchange_id)

    def api(method: str, *args: Any, **kwargs: Any) -> Any:
        return call(
            client, exchange_id, method, *args, credential_id=credential_id, limits=limits, **kwargs
        )

    return api
