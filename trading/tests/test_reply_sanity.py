"""Exchange replies that contradict the order asked for, or leave out what became of
it, through the real ccxt Binance client against the emulator: nothing is booked
from such a reply; the order is looked up by its client order id, placed once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading import market_cache
from trading.execution import execute
from trading.fanout import execute_batch
from trading.models import Bot, Order
from trading.sweeper import sweep
from trading.tests.test_odd_replies import ORDER, TRADES, _drop, _set


def _settled_once(emulator: BinanceEmulator) -> Order:
    for _ in range(3):
        sweep()
    order = Order.objects.get()
    assert emulator.request_count(path=ORDER, method="POST") == 1
    assert order.settled and order.status == "closed", (order.status, order.error)
    return order


def test_a_filled_reply_that_leaves_out_the_filled_amount_is_looked_up_not_booked_as_nothing(
    binance_bot: Bot, emulator: BinanceEmulator
) -> None:
    # FILLED, but no executedQty, cost or fills: it does not say how much was bought.
    emulator.tamper(ORDER, _drop("executedQty", "cummulativeQuoteQty", "fills"), method="POST")
    execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    order = _settled_once(emulator)
    assert order.filled == order.amount > 0
    assert sum(f.amount for f in order.fills.all()) == order.filled
    position = binance_bot.positions.get(market=order.market)
    assert position.amount > 0
    binance_bot.refresh_from_db()
    assert binance_bot.cash < Decimal("1000")


def _read_backs(emulator: BinanceEmulator) -> int:
    return sum(
        emulator.request_count(path=path, method="GET")
        for path in (ORDER, TRADES, "/api/v3/openOrders", "/api/v3/ticker/24hr")
    )


def test_a_binance_full_reply_is_booked_from_its_fills_without_reading_the_order_back(
    binance_bot: Bot, emulator: BinanceEmulator
) -> None:
    # Binance's FULL reply lists the fills without a time of their own (the order's
    # transactTime is theirs): booked from the reply, no read back (weight 0 an order).
    signal = SignalFactory(strategy=binance_bot.strategy)
    execute(binance_bot.pk, signal.pk)
    before = _read_backs(emulator)
    assert emulator.request_count(path=ORDER, method="POST") == 1
    order = Order.objects.get()
    assert order.settled and order.status == "closed"
    fill = order.fills.get()
    assert fill.amount == order.filled and fill.taken_at.year == timezone.now().year
    assert before <= 1, "read back after a FULL reply"  # the one ticker to size the order


def test_a_batch_of_binance_bots_is_booked_from_the_full_replies_without_read_backs(
    emulator: BinanceEmulator, binance_bots: list[Bot]
) -> None:
    bots = binance_bots
    signal = SignalFactory(strategy=bots[0].strategy)
    execute_batch(str(signal.pk), [str(b.pk) for b in bots])
    assert emulator.request_count(path=ORDER, method="POST") == 3
    assert _read_backs(emulator) <= 1  # the one ticker of the signal
    for order in Order.objects.all():
        assert order.settled and sum(f.amount for f in order.fills.all()) == order.filled > 0


def _as_other_market(body: dict[str, Any]) -> dict[str, Any]:
    # The answer of an ETH order: its symbol, its price and quantity.
    fills = [{**f, "price": "3000.00000000", "qty": "0.16000000"} for f in body["fills"]]
    return {**body, "symbol": "ETHUSDT", "executedQty": "0.16000000", "fills": fills}


def _filled_twice(body: dict[str, Any]) -> dict[str, Any]:
    # More filled than was asked: the same fills again under new trade ids.
    again = [{**f, "tradeId": int(f["tradeId"]) + 10**6} for f in body["fills"]]
    filled = Decimal(body["executedQty"]) * 2
    return {**body, "executedQty": f"{filled:f}", "fills": body["fills"] + again}


CONTRADICTING_REPLIES = {
    "another market": _as_other_market,
    "more filled than asked": _filled_twice,
    "the other side": _set(side="SELL"),
}


@pytest.mark.parametrize(
    "rewrite", CONTRADICTING_REPLIES.values(), ids=CONTRADICTING_REPLIES.keys()
)
@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_a_reply_that_contradicts_the_order_is_looked_up_and_never_booked(
    binance_bot: Bot, emulator: BinanceEmulator, rewrite, path: str
) -> None:
    emulator.tamper(ORDER, rewrite, method="POST")
    signal = SignalFactory(strategy=binance_bot.strategy)
    if path == "batch":
        execute_batch(str(signal.pk), [str(binance_bot.pk)])
    else:
        execute(binance_bot.pk, signal.pk)
    order = _settled_once(emulator)
    assert order.filled == order.amount
    fills = list(order.fills.all())
    assert sum(f.amount for f in fills) == order.amount
    assert all(f.price > 10_000 for f in fills), [f.price for f in fills]  # BTC's, not ETH's
    position = binance_bot.positions.get(market="BTC/USDT")
    assert position.amount == order.amount and position.avg_entry > 10_000


def _market_halted(body: dict[str, Any]) -> dict[str, Any]:
    symbols = [{**s, "status": "BREAK"} if s["symbol"] == "BTCUSDT" else s for s in body["symbols"]]
    return {**body, "symbols": symbols}


@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_a_market_the_exchange_lists_as_not_trading_gets_no_order(
    binance_bot: Bot, emulator: BinanceEmulator, path: str
) -> None:
    # Halted or delisted (exchangeInfo status BREAK): ccxt marks the market inactive.
    market_cache.forget("binance")  # markets an earlier test left in the shared cache
    emulator.tamper("/api/v3/exchangeInfo", _market_halted, method="GET", times=5)
    signal = SignalFactory(strategy=binance_bot.strategy)
    try:
        if path == "batch":
            execute_batch(str(signal.pk), [str(binance_bot.pk)])
        else:
            execute(binance_bot.pk, signal.pk)
    finally:
        # The halted markets are not left in the shared cache: every later test in the
        # process found BTC/USDT halted and placed no order.
        market_cache.forget("binance")
    decision = binance_bot.decisions.get()
    assert (decision.outcome, decision.reason) == ("ignored", "market_closed"), decision.message
    assert emulator.request_count(path=ORDER, method="POST") == 0
    assert not Order.objects.exists()
