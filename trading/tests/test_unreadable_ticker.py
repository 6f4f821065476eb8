"""A ticker answered with HTTP 200 and a body ccxt cannot read (cut-off JSON, a proxy's
HTML page, nothing) is an unreadable reply, tried again like an outage; it is not a
price of 0 that every bot of the signal is refused on. Through the real ccxt Binance
client against the emulator, per bot and in a batch."""

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
from trading.models import Bot, Decision, Order
from trading.sweeper import sweep

TICKER = "/api/v3/ticker/24hr"
HTML = "<html><body><h1>Down for maintenance</h1></body></html>"
BODIES: dict[str, Callable[[Any], Raw]] = {
    "cut off": lambda body: Raw(json.dumps(body)[:40]),
    "html": lambda body: Raw(HTML, content_type="text/html"),
    "empty": lambda body: Raw(""),
}


@pytest.mark.parametrize("body", list(BODIES))
@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_an_unreadable_ticker_is_tried_again_and_traded_for_every_bot(
    binance_bots: list[Bot], emulator: BinanceEmulator, body: str, path: str, settings
) -> None:
    # Fails before this change: every bot's decision was ignored as "no_price" (the
    # empty ticker was shared by all of them through the price snapshot).
    settings.BATCH_RETRY_SECONDS = 0
    emulator.tamper(TICKER, BODIES[body], method="GET")
    signal = SignalFactory(strategy=binance_bots[0].strategy)
    if path == "batch":
        execute_batch(str(signal.pk), [str(b.pk) for b in binance_bots])
    else:
        for bot in binance_bots:
            execute(bot.pk, signal.pk)
    assert not Decision.objects.exclude(outcome__in=["pending", "executed"]).exists()
    for _ in range(3):
        sweep(start_up=True)
    outcomes = list(Decision.objects.values_list("outcome", "reason"))
    assert outcomes == [("executed", "placed")] * len(binance_bots)
    assert emulator.request_count(path="/api/v3/order", method="POST") == len(binance_bots)
    assert Order.objects.filter(status="closed", settled=True).count() == len(binance_bots)
