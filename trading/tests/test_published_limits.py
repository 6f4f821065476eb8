from __future__ import annotations

import pytest

from testing.binance_emulator import BinanceEmulator, binance_client
from testing.fixtures import binance_emulator  # noqa: F401
from trading.exchange_calls import order_budgets, weight_budget
from trading.published_limits import limits_for, parse_rate_limits, refresh_published_limits

BINANCE = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def test_binance_limits_are_read_into_our_budgets() -> None:
    assert parse_rate_limits(BINANCE) == {
        "weight_per_minute": 6000,
        "orders_per_10s": 50,
        "orders_per_day": 160000,
    }


@pytest.mark.parametrize("junk", [None, [], [{"rateLimitType": "ORDERS"}], [{"limit": "x"}]])
def test_malformed_limits_are_ignored(junk) -> None:
    assert parse_rate_limits(junk) == {}


@pytest.mark.django_db
def test_without_published_figures_the_configured_ones_apply(settings) -> None:
    assert limits_for("kraken") == settings.EXCHANGE_RATE_LIMITS["default"]


@pytest.mark.django_db(transaction=True)
def test_live_binance_limits_replace_the_configured_ones_for_every_process(settings) -> None:
    from django.core.cache import cache

    cache.delete("published-limits:binance")  # transactional tests keep the cache table
    emulator = BinanceEmulator(weight_limit=1200, orders_per_10s=7)
    with emulator:
        client = binance_client(emulator, "k", "s")
        refresh_published_limits(client, "binance")
        refresh_published_limits(client, "binance")  # cached: asked once
        assert emulator.request_count(path="/api/v3/exchangeInfo") == 1
    assert weight_budget("binance").limit == 1200
    assert order_budgets("binance", "c")[0].limit == 7
    cache.delete("published-limits:binance")  # leave no live figures to later tests
