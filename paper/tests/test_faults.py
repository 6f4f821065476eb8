"""Injected faults: each kind, counted uses, per-method arming, lost replies."""

from __future__ import annotations

import ccxt
import pytest

from paper import faults
from paper.errors import PaperRateLimited
from paper.exchange import PaperExchange
from paper.models import PaperFault, PaperOrder
from paper.tests.conftest import ExchangeFactory, key_of

SYMBOL = "BTC/USDT"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("timeout", ccxt.RequestTimeout),
        ("rate_limit", ccxt.DDoSProtection),
        ("server_error", ccxt.ExchangeNotAvailable),
        ("insufficient_funds", ccxt.InsufficientFunds),
    ],
)
def test_a_fault_fails_the_next_call_without_placing_anything(
    exchange: PaperExchange, fault: str, error: type[Exception]
) -> None:
    faults.inject(key_of(exchange), fault)
    with pytest.raises(error):
        exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "c1"})
    assert not PaperOrder.objects.exists()
    # Used up: the retry goes through.
    exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "c1"})


def test_a_rate_limit_fault_carries_retry_after(exchange: PaperExchange) -> None:
    faults.inject(key_of(exchange), "rate_limit", retry_after=42)
    with pytest.raises(PaperRateLimited) as caught:
        exchange.fetch_balance()
    assert isinstance(caught.value, ccxt.DDoSProtection)
    assert caught.value.retry_after == 42
    assert "Retry-After: 42" in str(caught.value)


def test_a_lost_reply_places_the_order_once_and_the_caller_finds_it_by_client_id(
    exchange: PaperExchange,
) -> None:
    faults.inject(key_of(exchange), "lost_reply", method="create_order")
    with pytest.raises(ccxt.RequestTimeout):
        exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "bot-9"})
    found = exchange.fetch_order(None, SYMBOL, {"clientOrderId": "bot-9"})
    assert found["status"] == "closed" and found["filled"] == 0.001
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate"):
        exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "bot-9"})
    assert PaperOrder.objects.filter(client_order_id="bot-9").count() == 1


def test_a_fault_can_last_for_several_calls(exchange: PaperExchange) -> None:
    faults.inject(key_of(exchange), "server_error", times=3)
    for _ in range(3):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            exchange.fetch_balance()
    exchange.fetch_balance()
    assert not PaperFault.objects.exists()


def test_a_fault_armed_for_one_method_spares_the_others(exchange: PaperExchange) -> None:
    faults.inject(key_of(exchange), "timeout", method="cancel_order")
    exchange.fetch_balance()
    exchange.fetch_ticker(SYMBOL)
    with pytest.raises(ccxt.RequestTimeout):
        exchange.cancel_order("1", SYMBOL)


def test_faults_are_shared_by_every_client_of_the_account(make_exchange: ExchangeFactory) -> None:
    web = make_exchange(api_key="paper-shared-faults")
    worker = make_exchange(api_key="paper-shared-faults")
    faults.inject(key_of(web), "timeout")
    with pytest.raises(ccxt.RequestTimeout):
        worker.fetch_ticker(SYMBOL)
    web.fetch_ticker(SYMBOL)  # the single use was consumed by the worker


def test_faults_belong_to_one_account(make_exchange: ExchangeFactory) -> None:
    alice, bob = make_exchange(), make_exchange()
    faults.inject(key_of(alice), "timeout", times=5)
    bob.fetch_balance()
    with pytest.raises(ccxt.RequestTimeout):
        alice.fetch_balance()


def test_clear_disarms_every_fault(exchange: PaperExchange) -> None:
    faults.inject(key_of(exchange), "timeout", times=10)
    faults.inject(key_of(exchange), "rate_limit", method="fetch_balance")
    assert faults.clear(key_of(exchange)) == 2
    exchange.fetch_balance()


def test_an_unknown_fault_or_count_is_refused(db: None) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        faults.inject("paper-x", "meteor")
    with pytest.raises(ValueError, match="times"):
        faults.inject("paper-x", "timeout", times=0)
