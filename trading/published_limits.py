"""The limits an exchange publishes (Binance ``exchangeInfo`` ``rateLimits``).

Read at most once an hour per exchange and kept in the shared cache, so every
process budgets with the live figures; configured figures are the fallback.
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
CACHE_SECONDS = 3600
_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}


def _cache_key(exchange_id: str) -> str:
    return f"published-limits:{exchange_id}"


def parse_rate_limits(rate_limits: list[dict[str, Any]]) -> dict[str, int]:
    """Binance's list of limits to our three budgets; unknown entries are ignored."""
    found: dict[str, int] = {}
    for entry in rate_limits or []:
        try:
            window = _SECONDS[entry["interval"]] * int(entry["intervalNum"])
            limit = int(entry["limit"])
        except (KeyError, TypeError, ValueError):
            continue
        kind = entry.get("rateLimitType")
        if kind == "REQUEST_WEIGHT" and window == 60:
            found["weight_per_minute"] = limit
        elif kind == "ORDERS" and window == 10:
            found["orders_per_10s"] = limit
        elif kind == "ORDERS" and window == 86400:
            found["orders_per_day"] = limit
    return found


def configured_limits(exchange_id: str) -> dict[str, int]:
    limits = settings.EXCHANGE_RATE_LIMITS
    return dict(limits.get(exchange_id, limits["default"]))


def limits_for(exchange_id: str) -> dict[str, int]:
    """Live figures where the exchange published them, configured ones otherwise."""
    return {**configured_limits(exchange_id), **(cache.get(_cache_key(exchange_id)) or {})}


def record_published_limits(
    exchange_id: str, rate_limits: list[dict[str, Any]], *, seconds: int = CACHE_SECONDS
) -> None:
    """Keep limits read from an exchangeInfo reply for every process, for ``seconds``.

    Figures already recorded are kept until they expire on their own.
    """
    cache.add(_cache_key(exchange_id), parse_rate_limits(rate_limits), seconds)


def refresh_published_limits(client: Any, exchange_id: str) -> dict[str, int]:
    """Read the exchange's limits (Binance only) unless read within the hour.

    They come with the markets (one exchangeInfo request, counted in the weight
    budget, see ``trading.market_cache``). A failure keeps the configured figures.
    """
    # A cycle: exchange_calls and market_cache import this module.
    from trading.exchange_calls import RateLimited
    from trading.market_cache import load_markets

    cached = cache.get(_cache_key(exchange_id))
    if (
        cached is not None
        or exchange_id not in ("binance", "binanceus")
        or not isinstance(client, ccxt.Exchange)
    ):
        return limits_for(exchange_id)
    try:
        load_markets(client, exchange_id)
        if cache.get(_cache_key(exchange_id)) is None:
            # The markets were cached but the limits had expired: ask again.
            load_markets(client, exchange_id, reload=True)
    except (ccxt.BaseError, RateLimited) as exc:
        logger.info("Could not read %s's published limits: %s", exchange_id, type(exc).__name__)
    return limits_for(exchange_id)
