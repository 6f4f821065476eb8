"""An order request answered with something that is not Binance's JSON: a cut-off body,
a proxy's HTML error page (502/503, or even 200), nothing at all. The order was carried
out; whether it exists is looked up by its client order id, never sent again, and its
fills booked once. Through the real ccxt Binance client against the emulator.
(A guard: these passed before it was written.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from testing.binance_endpoints import Raw
from trading.execution import execute
from trading.fanout import execute_batch
from trading.models import Bot, Order
from trading.sweeper import sweep

ORDER = "/api/v3/order"
HTML = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
BODIES: dict[str, Callable[[Any], Raw]] = {
    "cut off": lambda body: Raw(json.dumps(body)[:40]),
    "html 502": lambda body: Raw(HTML, status=502, content_type="text/html"),
    "html 503": lambda body: Raw(HTML, status=503, content_type="text/html"),
    "html 200": lambda body: Raw(HTML, content_type="text/html"),
    "empty": lambda body: Raw(""),
}


@pytest.mark.parametrize("body", list(BODIES))
@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_an_unreadable_order_reply_is_looked_up_and_booked_once(
    binance_bot: Bot, emulator: BinanceEmulator, body: str, path: str, settings
) -> None:
    settings.BATCH_RETRY_SECONDS = 0
    emulator.tamper(ORDER, BODIES[body], method="POST")
    signal = SignalFactory(strategy=binance_bot.strategy)
    if path == "batch":
        execute_batch(str(signal.pk), [str(binance_bot.pk)])
    else:
        execute(binance_bot.pk, signal.pk)
    for _ in range(3):
        sweep(start_up=True)
    order = Order.objects.get()
    assert emulator.request_count(path=ORDER, method="POST") == 1
    assert (order.status, order.settled) == ("closed", True), order.error
    assert sum(f.amount for f in order.fills.all()) == order.filled == order.amount
    assert binance_bot.positions.get(market=order.market).amount == order.amount
    assert binance_bot.decisions.get().outcome == "executed"
