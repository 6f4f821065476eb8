"""Exchange data every process shares: markets, the clock offset, price snapshots.

A fresh ccxt client would download the exchange's markets (Binance
``exchangeInfo``, weight 20) before its first trade; with one client per task
that is most of a bot's request weight. Here they are downloaded once per
exchange, at most hourly, by one process (a cache lock), kept in the shared
Django cache (Redis in production, the database cache embedded) and injected
into every client. Each process also keeps the last set it unpacked, so a task
reads only a small version stamp from the cache.

The clock offset to the exchange (ccxt ``options['timeDifference']``) is kept
the same way per machine, so signed requests are not refused with -1021.

Price snapshots (``ticker_snapshot``): when a signal reaches a thousand bots,
one ticker per (exchange, market) serves them all instead of one per bot.

Every request made here goes through ``trading.exchange_calls.request``: it is
counted in the shared weight budget and stops during a ban.
"""

from __future__ import annotations

import copy
import logging
import math
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import ccxt
from django.core.cache import cache

from trading import exchange_calls, published_limits
from vault.clients import public_client

logger = logging.getLogger(__name__)
T = TypeVar("T")

MARKETS_SECONDS = 3600  # markets are refreshed at most this often
MIN_MARKETS_AGE = 60  # ...and, after a filter refusal, at most this often
CLOCK_SECONDS = 3600  # the clock offset is measured again after this long
LOCK_SECONDS = 30  # a download that takes longer lets another process try
LOCK_WAIT_SECONDS = 10.0  # how long a process waits for another one's download
POLL_SECONDS = 0.1
TICKER_KEEP_SECONDS = 300  # the longest a snapshot stays in the cache (callers ask fresher)
TICKER_LOCK_SECONDS = 10
TICKER_WAIT_SECONDS = 3.0  # how long a caller waits for another process's ticker

# exchange id -> (stamp, client holding the unpacked markets): this process's copy.
_unpacked: dict[str, tuple[float, Any]] = {}


def _stamp_key(exchange_id: str) -> str:
    return f"markets:{exchange_id}:stamp"


def _data_key(exchange_id: str, stamp: float) -> str:
    return f"markets:{exchange_id}:{stamp!r}"


def _clock_key(exchange_id: str) -> str:
    # The offset is a property of this machine's clock, not of the exchange alone.
    return f"exchange-clock:{exchange_id}:{socket.gethostname()}"


def keeps_clock(client: Any, exchange_id: str) -> bool:
    """True for clients whose signed requests carry a timestamp ccxt can correct."""
    return (
        isinstance(client, ccxt.Exchange)
        and exchange_id in exchange_calls.BINANCE_LIKE
        and "timeDifference" in client.options
    )


def prepare(client: Any, exchange_id: str) -> None:
    """Give a ccxt client the shared markets and clock offset before its first request.

    Side effects: may download the markets (once per exchange and hour, for
    every process) or measure the clock offset (once per machine and hour),
    both counted in the shared weight budget. Raises RateLimited or a ccxt
    error when that request cannot be made; does nothing for other clients.
    """
    if not isinstance(client, ccxt.Exchange):
        return
    if not client.markets:
        load_markets(client, exchange_id)
    if keeps_clock(client, exchange_id) and not client.options.get("oneclickClockSet"):
        sync_clock(client, exchange_id)


def sync_clock(client: Any, exchange_id: str, *, force: bool = False) -> int:
    """Set the client's offset to the exchange's clock (ms, ours minus theirs).

    Uses the offset this machine measured within the hour, unless ``force``
    (after a -1021): then it asks the exchange (``load_time_difference``,
    Binance /api/v3/time, weight 1, counted) and shares the answer.
    """
    key = _clock_key(exchange_id)
    offset = None if force else cache.get(key)
    if offset is None:
        offset = int(exchange_calls.request(client, exchange_id, "load_time_difference"))
        cache.set(key, offset, CLOCK_SECONDS)
        if abs(offset) > 1000:
            logger.warning("Clock is %d ms off %s's; requests are corrected", offset, exchange_id)
    client.options["timeDifference"] = offset
    client.options["oneclickClockSet"] = True
    return offset


def load_markets(client: Any, exchange_id: str, *, reload: bool = False) -> dict[str, Any]:
    """The exchange's markets (with precision and limits), set on ``client``.

    From this process's copy when the shared stamp has not moved, else from the
    shared cache; downloaded (one process at a time, counted) when the cache has
    none within the hour or ``reload`` is asked. Raises RateLimited or a ccxt
    error when a download is needed and fails.
    """
    stamp = None if reload else cache.get(_stamp_key(exchange_id))
    source = _unpack(client, exchange_id, stamp) if stamp is not None else None
    if source is None:
        source = _download(client, exchange_id)
    client.set_markets_from_exchange(source)
    markets: dict[str, Any] = client.markets
    return markets


def plain_markets(client: Any, exchange_id: str) -> dict[str, Any]:
    """``load_markets`` of a client that is not ccxt's (the paper exchange), shared.

    Asked once per exchange and hour for every process (counted in the weight
    budget), not once per task.
    """
    key = f"markets:{exchange_id}:plain"
    cached: dict[str, Any] | None = cache.get(key)
    if cached is not None:
        return cached
    markets: dict[str, Any] = exchange_calls.request(client, exchange_id, "load_markets")
    cache.set(key, markets, MARKETS_SECONDS)
    return markets


def _unpack(client: Any, exchange_id: str, stamp: float) -> Any:
    held = _unpacked.get(exchange_id)
    if held is not None and held[0] == stamp and type(held[1]) is type(client):
        return held[1]
    markets = cache.get(_data_key(exchange_id, stamp))
    if not markets:
        return None
    holder = type(client)()  # no keys: it only holds the markets
    holder.set_markets(markets)
    _unpacked[exchange_id] = (stamp, holder)
    return holder


def _download(client: Any, exchange_id: str) -> Any:
    seen = cache.get(_stamp_key(exchange_id))

    def downloaded_meanwhile() -> Any:
        # Another process's download, newer than what we found lacking.
        stamp = cache.get(_stamp_key(exchange_id))
        if stamp is None or stamp == seen:
            return None
        return _unpack(client, exchange_id, stamp)

    return _one_at_a_time(
        f"markets:{exchange_id}:lock",
        hold_seconds=LOCK_SECONDS,
        wait_seconds=LOCK_WAIT_SECONDS,
        ready=downloaded_meanwhile,
        produce=lambda: _fetch(client, exchange_id),
    )


def _one_at_a_time(
    lock: str,
    *,
    hold_seconds: int,
    wait_seconds: float,
    ready: Callable[[], T | None],
    produce: Callable[[], T],
) -> T:
    """``produce()`` in one process at a time; the others take ``ready()`` once it is.

    A holder that dies or hangs keeps the others waiting ``wait_seconds`` at
    most; then they produce it themselves.
    """
    token = secrets.token_hex(8)
    deadline = time.monotonic() + wait_seconds
    while not cache.add(lock, token, hold_seconds):
        time.sleep(POLL_SECONDS)
        result = ready()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            break
    try:
        result = ready()  # done while we took the lock
        return result if result is not None else produce()
    finally:
        if cache.get(lock) == token:
            cache.delete(lock)


def _public_twin(client: Any) -> Any:
    """A keyless client of the same exchange, routed like ``client``.

    Markets are public: without keys ccxt asks for nothing else (Binance with
    keys would also call its margin and currency endpoints), no secret is
    involved, and ccxt's own adjustForTimeDifference (an uncounted time request
    inside fetch_markets) stays off: the clock is synced on its own.
    """
    twin = type(client)(
        {
            "timeout": client.timeout,
            "options": {
                **{k: v for k, v in client.options.items() if k in ("defaultType", "fetchMarkets")},
                "fetchMargins": False,
                "fetchCurrencies": False,
                "adjustForTimeDifference": False,
            },
        }
    )
    twin.urls = copy.deepcopy(client.urls)  # sandbox or a test emulator
    twin.enableLastJsonResponse = True  # the published limits are read from the reply
    return twin


def _fetch(client: Any, exchange_id: str) -> Any:
    twin = _public_twin(client)
    try:
        markets = exchange_calls.request(twin, exchange_id, "fetch_markets")
    finally:
        twin.session.close()
    reply = getattr(twin, "last_json_response", None)
    twin.set_markets(markets)
    if isinstance(reply, dict) and reply.get("rateLimits"):
        # The same exchangeInfo reply carries the published limits: no second download.
        # They expire a minute before the markets, so the refresh they trigger
        # (with_limits) renews both with one request.
        published_limits.record_published_limits(
            exchange_id, reply["rateLimits"], seconds=MARKETS_SECONDS - 60
        )
    stamp = time.time()
    cache.set(_data_key(exchange_id, stamp), list(twin.markets.values()), 2 * MARKETS_SECONDS)
    cache.set(_stamp_key(exchange_id), stamp, MARKETS_SECONDS)
    _unpacked[exchange_id] = (stamp, twin)
    logger.info("Markets of %s downloaded (%d)", exchange_id, len(twin.markets))
    return twin


def forget(exchange_id: str, *, markets: Iterable[str] = ()) -> None:
    """Drop what every process shares about ``exchange_id``: markets, clock offset,
    and the price snapshots of ``markets`` (tests, a listing change)."""
    stamp = cache.get(_stamp_key(exchange_id))
    if stamp is not None:
        cache.delete(_data_key(exchange_id, stamp))
    cache.delete_many(
        [_stamp_key(exchange_id), _clock_key(exchange_id), f"markets:{exchange_id}:plain"]
    )
    _unpacked.pop(exchange_id, None)
    cache.delete_many([_ticker_key(exchange_id, market) for market in markets])


def forget_stale_markets(exchange_id: str) -> bool:
    """After the exchange refused an order on a filter (LOT_SIZE, NOTIONAL, PRICE_FILTER):
    our cached filters may be older than its own, so the next order loads them anew
    instead of being refused the same way for the rest of the hour. A download younger
    than ``MIN_MARKETS_AGE`` is kept (a batch's refusals ask for one download, not one
    each). True when the markets were dropped."""
    stamp = cache.get(_stamp_key(exchange_id))
    if stamp is None or time.time() - float(stamp) < MIN_MARKETS_AGE:
        return False
    cache.delete_many([_stamp_key(exchange_id), f"markets:{exchange_id}:plain"])
    _unpacked.pop(exchange_id, None)
    logger.info("Markets of %s dropped after a filter refusal; loaded again", exchange_id)
    return True


def _ticker_key(exchange_id: str, market: str) -> str:
    return f"ticker:{exchange_id}:{market}"


def _fresh_ticker(key: str, max_age_s: float) -> dict[str, Any] | None:
    entry: dict[str, Any] | None = cache.get(key)
    if entry is not None and time.time() - entry["at"] <= max_age_s:
        ticker: dict[str, Any] = entry["ticker"]
        return ticker
    return None


def ticker_snapshot(
    exchange_id: str, market: str, max_age_s: float, *, client: Any = None
) -> dict[str, Any]:
    """ccxt's ticker of ``market`` on ``exchange_id``, at most ``max_age_s`` old.

    Shared by every process through the cache: when the shared snapshot is
    older, one process asks the exchange (``exchange_calls.call``: counted in
    the weight budget, refused during a ban) while the others wait up to a few
    seconds for its answer rather than ask too. ``client`` is any client of
    that exchange (a bot's, so the paper exchange sees its own faults); without
    one a keyless client is built. Side effects: at most one ticker request
    per (exchange, market) and ``max_age_s`` across all processes; writes the
    snapshot to the cache. Raises RateLimited or a ccxt error when a fresh
    ticker is needed and cannot be had (a stale one is never returned), and
    ``MalformedReply`` (not cached) for a ticker without a last price.
    """
    key = _ticker_key(exchange_id, market)
    ticker = _fresh_ticker(key, max_age_s)
    if ticker is not None:
        return ticker

    def fetch() -> dict[str, Any]:
        source = client if client is not None else public_client(exchange_id)
        fetched: dict[str, Any] = exchange_calls.call(source, exchange_id, "fetch_ticker", market)
        if not isinstance(fetched, dict) or fetched.get("last") in (None, ""):
            # ccxt reads a 200 it cannot parse (cut-off JSON, a proxy's HTML page, an
            # empty body) as a ticker with no price: an unreadable reply, tried again,
            # never shared as "no price" with every bot of the signal.
            raise exchange_calls.MalformedReply(
                f"{exchange_id} answered the {market} ticker without a last price"
            )
        keep = max(TICKER_KEEP_SECONDS, math.ceil(2 * max_age_s))
        cache.set(key, {"at": time.time(), "ticker": fetched}, keep)
        return fetched

    return _one_at_a_time(
        f"{key}:lock",
        hold_seconds=TICKER_LOCK_SECONDS,
        wait_seconds=TICKER_WAIT_SECONDS,
        ready=lambda: _fresh_ticker(key, max_age_s),
        produce=fetch,
    )
