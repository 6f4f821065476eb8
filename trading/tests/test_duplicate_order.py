"""A create_order refused as "Duplicate order sent." (Binance -2010, which ccxt
raises as InvalidOrder; the paper exchange's DuplicateOrder too) says an order
with our client order id already exists: it is looked up by that id, never
settled as rejected.

The Binance emulator carries the order out and answers the duplicate error, as
Binance does to a resend whose first request got through unanswered.
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from paper.errors import DuplicateOrder
from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading.execution import execute
from trading.fanout import execute_batch
from trading.models import Bot, Order
from trading.sweeper import sweep

ORDER = "/api/v3/order"


def _duplicate(body: Any) -> Any:
    return {"code": -2010, "msg": "Duplicate order sent."}


@pytest.mark.parametrize("path", ["per bot", "batch"])
def test_a_duplicate_order_refusal_is_looked_up_not_rejected(
    path: str, binance_bot: Bot, emulator: BinanceEmulator
) -> None:
    # Failed before: the order was settled as rejected (and its decision failed)
    # while it had filled on the exchange, so the books missed the trade.
    emulator.tamper(ORDER, _duplicate, method="POST")
    signal = SignalFactory(strategy=binance_bot.strategy)
    if path == "batch":
        execute_batch(str(signal.pk), [str(binance_bot.pk)])
    else:
        execute(binance_bot.pk, signal.pk)
    for _ in range(3):
        sweep()
    order = Order.objects.get()
    assert emulator.request_count(path=ORDER, method="POST") == 1
    assert order.status == "closed" and order.settled, (order.status, order.error)
    assert order.exchange_order_id and order.filled > 0
    assert sum(f.amount for f in order.fills.all()) == order.filled
    assert binance_bot.positions.get().amount == order.filled
    assert order.decision is not None
    order.decision.refresh_from_db()
    assert order.decision.outcome == "executed", order.decision.message


def test_duplicate_refusals_are_told_from_other_invalid_orders() -> None:
    from trading.orders import is_duplicate_order

    binance = 'binance {"code":-2010,"msg":"Duplicate order sent."}'
    assert is_duplicate_order(ccxt.InvalidOrder(binance))
    assert is_duplicate_order(DuplicateOrder("paper Duplicate order sent."))
    assert not is_duplicate_order(ccxt.InvalidOrder("Filter failure: LOT_SIZE"))
    assert not is_duplicate_order(ccxt.InsufficientFunds("Duplicate order sent."))
