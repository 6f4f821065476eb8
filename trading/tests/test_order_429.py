"""A 429 answered to an order request, through the real ccxt Binance client against
the emulator: the request reached the exchange, so whether the order exists is
looked up by its client order id before it is ever sent again."""

from __future__ import annotations

import time

import pytest

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading.exchange_calls import ip_key
from trading.execution import execute
from trading.fanout import execute_batch
from trading.limits import blocked_for
from trading.models import Bot, Order
from trading.sweeper import sweep
from trading.tests.test_odd_replies import ORDER


def _sweep_past_the_block(times: int = 4) -> None:
    for _ in range(times):
        deadline = time.monotonic() + 3
        while blocked_for(ip_key("binance")) and time.monotonic() < deadline:
            time.sleep(0.1)
        Order.objects.update(next_attempt_at=None)
        sweep()


@pytest.mark.parametrize("carried_out", [True, False], ids=["placed", "not placed"])
@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_an_order_answered_429_is_looked_up_before_it_is_sent_again(
    binance_bot: Bot, emulator: BinanceEmulator, carried_out: bool, path: str
) -> None:
    # "placed": the exchange carried the order out and still answered 429.
    emulator.inject("rate_limit", path=ORDER, method="POST", execute=carried_out, retry_after=1)
    signal = SignalFactory(strategy=binance_bot.strategy)
    if path == "batch":
        execute_batch(str(signal.pk), [str(binance_bot.pk)])
    else:
        execute(binance_bot.pk, signal.pk)
    _sweep_past_the_block()
    order = Order.objects.get()
    assert order.settled and order.status == "closed", (order.status, order.error)
    assert emulator.request_count(path=ORDER, method="POST") == (1 if carried_out else 2)
    # The emulator's account bought once: the books and the exchange agree.
    assert sum(f.amount for f in order.fills.all()) == order.filled == order.amount
    assert binance_bot.positions.get(market=order.market).amount == order.amount
    assert binance_bot.decisions.get().outcome == "executed"
