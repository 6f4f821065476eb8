from __future__ import annotations

import dataclasses

import ccxt
import pytest

from vault.paper.clock import ManualClock
from vault.paper.config import PaperConfig
from vault.paper.errors import PaperRateLimited
from vault.paper.tests.conftest import ExchangeFactory


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
