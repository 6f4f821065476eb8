from __future__ import annotations

import dataclasses

import ccxt
import pytest

from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.errors import PaperRateLimited
from paper.models import PaperAccount, PaperOrder
from paper.tests.conftest import ExchangeFactory


def test_past_the_limit_a_minute_the_account_is_told_to_back_off_until_the_next_one(
    make_exchange: ExchangeFactory, paper_config: PaperConfig, clock: ManualClock
) -> None:
    exchange = make_exchange(config=dataclasses.replace(paper_config, rate_limit_per_minute=3))
    for _ in range(3):
        exchange.fetch_balance()
    with pytest.raises(PaperRateLimited) as caught:
        exchange.fetch_open_orders()
    assert isinstance(caught.value, ccxt.DDoSProtection)
    assert caught.value.retry_after == 30  # the clock stands 30 s into the minute
    clock.advance(seconds=30)
    exchange.fetch_balance()


def test_the_limit_is_per_account(
    make_exchange: ExchangeFactory, paper_config: PaperConfig
) -> None:
    config = dataclasses.replace(paper_config, rate_limit_per_minute=1)
    busy, quiet = make_exchange(config=config), make_exchange(config=config)
    busy.fetch_balance()
    quiet.fetch_balance()
    with pytest.raises(ccxt.DDoSProtection):
        busy.fetch_balance()


def test_no_limit_means_no_limit(exchange) -> None:  # the test config switches it off
    for _ in range(50):
        exchange.fetch_balance()


def test_past_the_order_limit_in_ten_seconds_orders_are_refused_like_binance_and_counted(
    make_exchange: ExchangeFactory, paper_config: PaperConfig, clock: ManualClock
) -> None:
    exchange = make_exchange(config=dataclasses.replace(paper_config, order_limit_per_10s=3))
    for _ in range(3):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    assert exchange.last_response_headers["X-MBX-ORDER-COUNT-10S"] == "3"
    with pytest.raises(PaperRateLimited, match="-1015") as caught:
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    assert caught.value.retry_after == 10  # the clock stands on a window boundary
    exchange.fetch_balance()  # other calls still go through
    account = PaperAccount.objects.get(api_key=exchange.apiKey)
    assert PaperOrder.objects.filter(account=account).count() == 3
    assert account.throttled == 1
    clock.advance(seconds=10)
    exchange.create_order("BTC/USDT", "market", "buy", 0.001)


def test_every_keyed_call_is_counted_with_its_binance_weight(exchange) -> None:
    placed = exchange.create_order("BTC/USDT", "market", "buy", 0.001)  # 0: orders weigh nothing
    exchange.fetch_balance()  # 20
    exchange.fetch_my_trades("BTC/USDT", params={"orderId": placed["id"]})  # 5
    exchange.fetch_my_trades("BTC/USDT")  # 20
    exchange.fetch_order(placed["id"], "BTC/USDT")  # 4
    exchange.fetch_ticker("BTC/USDT")  # 2, public but sent with the key
    assert exchange.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "49"
    account = PaperAccount.objects.get(api_key=exchange.apiKey)
    assert (account.requests, account.weight) == (6, 51)


def test_a_market_order_costs_a_handful_of_queries(exchange, django_assert_max_num_queries) -> None:
    exchange.create_order("BTC/USDT", "market", "buy", 0.001)  # opens the account
    with django_assert_max_num_queries(9):
        order = exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    assert order["status"] == "closed" and len(order["trades"]) == 1


def test_past_the_weight_limit_a_minute_calls_are_refused_like_binance(
    make_exchange: ExchangeFactory, paper_config: PaperConfig, clock: ManualClock
) -> None:
    exchange = make_exchange(config=dataclasses.replace(paper_config, weight_limit_per_minute=45))
    exchange.fetch_balance()  # 20
    exchange.fetch_balance()  # 40
    exchange.create_order("BTC/USDT", "market", "buy", 0.001)  # 0: still fits
    with pytest.raises(PaperRateLimited, match="-1003") as caught:
        exchange.fetch_my_trades("BTC/USDT")  # 20 more: over 45
    assert caught.value.retry_after == 30
    clock.advance(seconds=30)
    exchange.fetch_my_trades("BTC/USDT")
    assert PaperAccount.objects.get(api_key=exchange.apiKey).throttled == 1


def test_the_default_limits_are_binances(settings) -> None:
    config = PaperConfig.from_settings()
    assert (config.weight_limit_per_minute, config.order_limit_per_10s) == (6000, 50)
    assert config.rate_limit_per_minute is None
