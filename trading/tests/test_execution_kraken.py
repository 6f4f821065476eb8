"""Orders on Kraken through the real ccxt client against the Kraken emulator."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from strategies.tests.factories import SignalFactory
from testing.http_fake import Reply
from testing.kraken_emulator import KrakenEmulator
from trading.execution import execute
from trading.models import Balance, Bot, Decision, Order
from trading.order_naming import exchange_client_id
from trading.orders import refresh_balances
from trading.sweeper import sweep
from trading.tests.factories import BotFactory
from vault.tests.factories import CredentialFactory

ADD_ORDER = "/0/private/AddOrder"


@pytest.fixture
def kraken(settings, db: None) -> Iterator[KrakenEmulator]:
    with KrakenEmulator() as emulator:
        settings.EXCHANGE_URL_OVERRIDES = {"kraken": emulator.url}
        settings.EXCHANGE_TIMEOUT_MS = 1_000
        settings.SWEEPER_MIN_AGE_SECONDS = 0
        settings.ORDER_LOOKUP_GRACE_SECONDS = 0
        settings.ORDER_LOOKUP_RETRY_SECONDS = 0
        settings.DECISION_RETRY_SECONDS = 0
        yield emulator
        assert emulator.violations == []


@pytest.fixture
def kraken_bot(kraken: KrakenEmulator) -> Bot:
    key = kraken.add_key()
    credential = CredentialFactory(exchange_id="kraken", api_key=key.api_key, secret=key.secret)
    return BotFactory(owner=credential.owner, credential=credential, allocation=Decimal("1000"))


def _posts(kraken: KrakenEmulator) -> int:
    return kraken.paths("POST").count(ADD_ORDER)


def test_a_signal_becomes_one_kraken_order_named_by_a_uuid_cl_ord_id(kraken, kraken_bot) -> None:
    decision = execute(kraken_bot.pk, SignalFactory(strategy=kraken_bot.strategy).pk)
    assert decision.outcome == "executed", decision.message
    order = Order.objects.get()
    assert (_posts(kraken), kraken.placed()) == (1, 1)
    (placed,) = kraken.orders.values()
    assert placed["cl_ord_id"] == exchange_client_id(order)
    assert order.settled and order.exchange_order_id in kraken.orders
    assert sum(f.amount for f in order.fills.all()) == order.filled > 0
    sweep()
    assert _posts(kraken) == 1


def test_an_order_whose_reply_timed_out_is_found_by_its_client_id_and_never_resent(
    kraken, kraken_bot
) -> None:
    kraken.after_executing[ADD_ORDER] = 2.0  # placed, then the client times out (1 s)
    execute(kraken_bot.pk, SignalFactory(strategy=kraken_bot.strategy).pk)
    for _ in range(3):
        sweep()
    order = Order.objects.get()
    assert kraken.placed() == 1 and _posts(kraken) == 1
    assert order.exchange_order_id in kraken.orders and order.settled
    decision = Decision.objects.get()
    assert decision.outcome == "executed", decision.message
    assert sum(f.amount for f in order.fills.all()) == order.filled > 0


def test_an_order_that_never_reached_kraken_is_sent_once_after_the_lookup_finds_nothing(
    kraken, kraken_bot
) -> None:
    kraken.next_replies[("POST", ADD_ORDER)] = Reply(503, {"error": ["EService:Unavailable"]})
    execute(kraken_bot.pk, SignalFactory(strategy=kraken_bot.strategy).pk)
    assert kraken.placed() == 0
    for _ in range(4):
        sweep()
    order = Order.objects.get()
    assert kraken.placed() == 1 and _posts(kraken) == 2
    decision = Decision.objects.get()
    assert order.settled and decision.outcome == "executed", decision.message


def test_fills_are_read_by_the_orders_trade_ids_after_fifty_newer_trades(
    kraken, kraken_bot
) -> None:
    # The first read of the fills fails; meanwhile the owner trades by hand 60 times.
    kraken.next_replies[("POST", "/0/private/QueryTrades")] = Reply(503, {"error": []})
    kraken.next_replies[("POST", "/0/private/TradesHistory")] = Reply(503, {"error": []})
    execute(kraken_bot.pk, SignalFactory(strategy=kraken_bot.strategy).pk)
    order = Order.objects.get()
    assert order.filled > 0 and not order.fills.exists()
    kraken.trade_by_hand(60)
    sweep()
    order.refresh_from_db()
    assert sum(f.amount for f in order.fills.all()) == order.filled
    assert order.settled and kraken_bot.positions.get(market="BTC/USDT").amount == order.filled


def test_the_kraken_accounts_balances_are_stored(kraken, kraken_bot) -> None:
    refresh_balances(kraken_bot.credential)
    stored = {b.currency: b.total for b in Balance.objects.filter(credential=kraken_bot.credential)}
    assert stored == {"USDT": Decimal("100000"), "BTC": Decimal("10")}
