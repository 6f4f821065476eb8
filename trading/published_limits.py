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


def refresh_published_limits(client: Any, exchange_id: str) -> dict[str, int]:
    """Ask the exchange for its limits (Binance only) unless read within the hour."""
    cached = cache.get(_cache_key(exchange_id))
    if cached is not None or exchange_id not in ("binance", "binanceus"):
        return limits_for(exchange_id)
    try:
        published = parse_rate_limits(client.public_get_exchangeinfo().get("rateLimits"))
    except (ccxt.BaseError, AttributeError) as exc:
        logger.info("Could not read %s's published limits: %s", exchange_id, type(exc).__name__)
        return limits_for(exchange_id)
    cache.set(_cache_key(exchange_id), published, CACHE_SECONDS)
    return limits_for(exchange_id)
