"""Exchange replies that contradict the order asked for, or leave out what became of
it, through the real ccxt Binance client against the emulator: nothing is booked
from such a reply; the order is looked up by its client order id, placed once."""

from __future__ import annotations

from decimal import Decimal

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading.execution import execute
from trading.models import Bot, Order
from trading.sweeper import sweep
from trading.tests.test_odd_replies import ORDER, _drop


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
