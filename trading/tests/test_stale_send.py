"""An order that was written but never sent is not sent once its signal has expired.

Our own rate budget, a recorded IP ban (418: minutes to days on Binance) or a
worker killed before sending leaves an order *pending*; a lookup that finds no
trace of an order in doubt makes it *pending* again. Whoever sends it later (the
sweeper, start-up reconciliation, a duplicate task) must not trade a signal past
its maximum age at the size and price of hours ago: the order is closed as never
placed, its reservation released and its decision recorded as missed. Through the
real ccxt Binance client against the emulator.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from strategies.models import Strategy
from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading.exchange_calls import ip_key
from trading.execution import execute
from trading.fanout import execute_batch
from trading.limits import blocked_for
from trading.models import Bot, Order
from trading.orders import reserved
from trading.sweeper import sweep

ORDER = "/api/v3/order"


def _wait_out_the_ban() -> None:
    deadline = time.monotonic() + 5
    while blocked_for(ip_key("binance")) and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_an_order_held_back_past_its_signals_age_is_not_sent(
    binance_bot: Bot, emulator: BinanceEmulator, path: str, settings
) -> None:
    # Fails before this change: the sweeper sent the order once the ban was over,
    # whatever the age of its signal.
    settings.BATCH_RETRY_SECONDS = 0  # the batch task leaves it to the sweeper
    emulator.inject("ip_ban", path=ORDER, method="POST", retry_after=1)
    signal = SignalFactory(strategy=binance_bot.strategy)
    if path == "batch":
        execute_batch(str(signal.pk), [str(binance_bot.pk)])
    else:
        execute(binance_bot.pk, signal.pk)
    order = Order.objects.get()
    assert order.status == "pending", (order.status, order.error)
    emulator.lift_ban()
    _wait_out_the_ban()
    # The ban outlived the signal.
    Strategy.objects.filter(pk=binance_bot.strategy_id).update(max_signal_age=0)
    sweep(start_up=True)
    execute(binance_bot.pk, signal.pk)  # a duplicate task of the same signal
    order.refresh_from_db()
    assert emulator.request_count(path=ORDER, method="POST") == 1  # the banned try only
    assert (order.status, order.settled, order.reserved) == ("rejected", True, Decimal(0))
    decision = binance_bot.decisions.get()
    assert (decision.outcome, decision.reason) == ("failed", "missed"), decision.message
    assert reserved(binance_bot) == (Decimal(0), Decimal(0))


def test_an_order_still_fresh_after_the_ban_is_sent_once(
    binance_bot: Bot, emulator: BinanceEmulator
) -> None:
    emulator.inject("ip_ban", path=ORDER, method="POST", retry_after=1)
    signal = SignalFactory(strategy=binance_bot.strategy)
    execute(binance_bot.pk, signal.pk)
    emulator.lift_ban()
    _wait_out_the_ban()
    sweep(start_up=True)
    order = Order.objects.get()
    assert (order.status, order.settled) == ("closed", True), (order.status, order.error)
    assert emulator.request_count(path=ORDER, method="POST") == 2
    assert binance_bot.decisions.get().outcome == "executed"
