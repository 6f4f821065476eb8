"""Odd exchange replies, parsed by the real ccxt client from the Binance emulator:
fields missing, strings instead of numbers, negative amounts, NaN and Infinity.

Whatever the reply, the order is sent once, nothing odd is stored as a figure, and
the order is left where a later sync (once the exchange answers sanely) settles it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading.execution import execute
from trading.models import Bot, Fill, Order
from trading.sweeper import sweep

ORDER = "/api/v3/order"
TRADES = "/api/v3/myTrades"


def _set(**fields: Any):
    def rewrite(body: Any) -> Any:
        return {**body, **fields}

    return rewrite


def _drop(*names: str):
    def rewrite(body: Any) -> Any:
        return {k: v for k, v in body.items() if k not in names}

    return rewrite


def _fills(**fields: Any):
    def rewrite(body: Any) -> Any:
        return {**body, "fills": [{**f, **fields} for f in body.get("fills", [])]}

    return rewrite


def _trades(**fields: Any):
    def rewrite(body: Any) -> Any:
        return [{**t, **fields} for t in body]

    return rewrite


ODD_ORDER_REPLIES = {
    "filled is NaN": _set(executedQty="NaN"),
    "filled is a float NaN": _set(executedQty=float("nan")),
    "filled is Infinity": _set(executedQty="Infinity"),
    "filled is a word": _set(executedQty="lots"),
    "filled is negative": _set(executedQty="-1"),
    "cost is NaN": _set(cummulativeQuoteQty="NaN"),
    "cost is huge": _set(cummulativeQuoteQty="1e999"),
    "no order id": _drop("orderId"),
    "no status": _drop("status"),
    "an unknown status": _set(status="SOMETHING_NEW"),
    "fill qty NaN": _fills(qty="NaN"),
    "fill price Infinity": _fills(price="Infinity"),
    "fill qty negative": _fills(qty="-0.001"),
    "fill price a word": _fills(price="cheap"),
    "fill without trade id": _fills(tradeId=None),
    "an empty object": lambda body: {},
    "a list": lambda body: [body],
}


@pytest.mark.parametrize("rewrite", ODD_ORDER_REPLIES.values(), ids=ODD_ORDER_REPLIES.keys())
def test_an_odd_order_reply_sends_once_stores_no_odd_figure_and_recovers(
    binance_bot: Bot, emulator: BinanceEmulator, rewrite
) -> None:
    emulator.tamper(ORDER, rewrite, method="POST")
    decision = execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    assert decision is not None
    order = Order.objects.get()
    for name in ("filled", "cost", "reserved"):
        value = getattr(order, name)
        assert value.is_finite() and value >= 0, (name, value)
    for fill in Fill.objects.all():
        assert fill.amount.is_finite() and fill.amount > 0 and fill.price.is_finite()
        assert fill.price > 0
    # A later sync, with sane answers, settles it: placed once, books right.
    for _ in range(4):
        sweep()
    order.refresh_from_db()
    assert emulator.request_count(path=ORDER, method="POST") == 1
    assert order.settled and order.status == "closed", (order.status, order.error)
    assert order.filled > 0
    assert sum(f.amount for f in order.fills.all()) == order.filled
    decision.refresh_from_db()
    assert decision.outcome == "executed", decision.message


def test_odd_balances_keep_the_last_good_figures(binance_bot: Bot) -> None:
    from trading.models import Balance
    from trading.sync import store_balances

    store_balances(binance_bot.credential_id, {"USDT": {"free": 5, "used": 0, "total": 5}})
    store_balances(
        binance_bot.credential_id,
        {
            "USDT": {"free": float("nan"), "used": 0, "total": "Infinity"},
            "BTC": {"free": "-1", "used": 0, "total": "-1"},
            "ETH": {"free": "a lot", "used": 0, "total": 1},
            "X" * 50: {"free": 1, "used": 0, "total": 1},
            "SOL": {"free": "2.5", "used": "0.5", "total": "3"},
        },
    )
    assert {b.currency: b.total for b in Balance.objects.all()} == {
        "USDT": Decimal(5),
        "SOL": Decimal(3),
    }


ODD_TRADES_REPLIES = {
    "qty NaN": _trades(qty="NaN"),
    "price Infinity": _trades(price="Infinity"),
    "qty negative": _trades(qty="-1"),
    "no time": _trades(time=None),
    "commission a word": _trades(commission="free"),
}


@pytest.mark.parametrize("rewrite", ODD_TRADES_REPLIES.values(), ids=ODD_TRADES_REPLIES.keys())
def test_odd_trades_read_back_store_no_odd_fill_and_recover(
    binance_bot: Bot, emulator: BinanceEmulator, rewrite
) -> None:
    # An ACK-only reply: the fills are read back from myTrades.
    emulator.tamper(ORDER, _drop("fills"), method="POST")
    emulator.tamper(TRADES, rewrite, method="GET")
    decision = execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    assert decision is not None
    for fill in Fill.objects.all():
        assert fill.amount.is_finite() and fill.amount > 0 and fill.price.is_finite()
        assert fill.price > 0 and fill.fee.is_finite() and fill.fee >= 0
    for _ in range(4):
        sweep()
    order = Order.objects.get()
    assert emulator.request_count(path=ORDER, method="POST") == 1
    assert order.settled and order.status == "closed", (order.status, order.error)
    assert sum(f.amount for f in order.fills.all()) == order.filled


def test_an_order_whose_every_lookup_is_unreadable_is_escalated_not_sent_again(
    binance_bot: Bot, emulator: BinanceEmulator, settings, django_capture_on_commit_callbacks
) -> None:
    settings.ORDER_LOOKUP_MAX_FAILURES = 3
    emulator.tamper(ORDER, _set(executedQty="NaN"), times=50)
    with django_capture_on_commit_callbacks(execute=True):
        decision = execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
        for _ in range(4):
            sweep()
    order = Order.objects.get()
    assert emulator.request_count(path=ORDER, method="POST") == 1
    assert order.status == "unknown" and not order.settled and order.escalated_at
    assert "MalformedReply" in order.error
    decision.refresh_from_db()
    assert (decision.outcome, decision.reason) == ("failed", "unconfirmed")
    # Once the exchange answers sanely, the order is found and settled.
    emulator.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            sweep()
    order.refresh_from_db()
    assert order.settled and order.status == "closed"
    assert emulator.request_count(path=ORDER, method="POST") == 1


@pytest.mark.parametrize(
    "rewrite",
    [ODD_ORDER_REPLIES["filled is NaN"], ODD_ORDER_REPLIES["fill price Infinity"]],
    ids=["filled is NaN", "fill price Infinity"],
)
def test_an_odd_reply_in_a_batch_is_looked_up_and_the_other_bots_book_theirs(
    emulator: BinanceEmulator, binance_bots: list[Bot], rewrite
) -> None:
    from trading.fanout import execute_batch

    bots = binance_bots
    strategy = bots[0].strategy
    signal = SignalFactory(strategy=strategy)
    emulator.tamper(ORDER, rewrite, method="POST")
    outcome = execute_batch(str(signal.pk), [str(b.pk) for b in bots])
    assert sum(outcome.values()) == 3
    for _ in range(3):
        sweep()
    assert emulator.request_count(path=ORDER, method="POST") == 3
    for order in Order.objects.all():
        assert order.settled and order.status == "closed", (order.status, order.error)
        assert sum(f.amount for f in order.fills.all()) == order.filled > 0


def test_a_reply_naming_another_of_our_orders_is_looked_up_not_stored(
    binance_bot: Bot, emulator: BinanceEmulator
) -> None:
    execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    taken = Order.objects.get().exchange_order_id
    assert taken
    emulator.tamper(ORDER, _set(orderId=int(taken)), method="POST")
    signal = SignalFactory(strategy=binance_bot.strategy, fraction=Decimal("0.1"))
    decision = execute(binance_bot.pk, signal.pk)
    assert decision is not None
    for _ in range(3):
        sweep()
    second = Order.objects.get(decision__signal=signal)
    assert second.exchange_order_id != taken
    assert second.settled and second.status == "closed"
    assert emulator.request_count(path=ORDER, method="POST") == 2


@pytest.mark.parametrize("last", ["NaN", "Infinity", "cheap"])
def test_an_unreadable_price_before_any_order_is_tried_again_then_traded(
    binance_bot: Bot, emulator: BinanceEmulator, last: str
) -> None:
    emulator.tamper("/api/v3/ticker/24hr", _set(lastPrice=last), method="GET")
    decision = execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    assert decision.outcome == "pending" and "MalformedReply" in decision.message
    assert not Order.objects.exists()
    for _ in range(2):
        sweep()
    decision.refresh_from_db()
    assert decision.outcome == "executed", decision.message
    assert emulator.request_count(path=ORDER, method="POST") == 1


@pytest.mark.parametrize("rewrite", [_set(executedQty="NaN"), _set(orderId=None), lambda b: []])
def test_an_odd_read_back_of_a_placed_order_is_synced_again_not_lost(
    binance_bot: Bot, emulator: BinanceEmulator, rewrite
) -> None:
    # No fills in the order's reply: it is read back (GET order, then myTrades).
    emulator.tamper(ORDER, _drop("fills"), method="POST")
    emulator.tamper(ORDER, rewrite, method="GET")
    decision = execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    assert decision is not None
    order = Order.objects.get()
    assert order.exchange_order_id and order.filled.is_finite()
    for _ in range(3):
        sweep()
    order.refresh_from_db()
    assert order.settled and order.status == "closed", (order.status, order.error)
    assert sum(f.amount for f in order.fills.all()) == order.filled > 0
    assert emulator.request_count(path=ORDER, method="POST") == 1
