"""An order ccxt refuses on its own, before any request goes out (its own checks of
the arguments, the symbol, the amount): proven never placed, so it is closed at once
as refused, its reservation released and its decision failed, with no lookup. An
order whose request went out and then failed is still looked up. Through the real
ccxt Binance client against the emulator, which counts every request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading import order_naming
from trading.execution import execute
from trading.fanout import execute_batch
from trading.models import Bot, Order
from trading.orders import reserved

ORDER = "/api/v3/order"
LOOKUPS = (ORDER, "/api/v3/openOrders", "/api/v3/myTrades")


def _run(path: str, bot: Bot) -> None:
    signal = SignalFactory(strategy=bot.strategy)
    if path == "batch":
        execute_batch(str(signal.pk), [str(bot.pk)])
    else:
        execute(bot.pk, signal.pk)


def _lookups(emulator: BinanceEmulator) -> int:
    return sum(emulator.request_count(path=p, method="GET") for p in LOOKUPS)


@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_an_order_ccxt_refuses_before_sending_is_closed_at_once_without_a_lookup(
    binance_bot: Bot,
    emulator: BinanceEmulator,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    # Fails before this change: ccxt's own decimal error read as an unreadable reply,
    # so the order stayed 'unknown' and was looked up (GET order, open orders, trades)
    # until the signal expired, holding the account's other bots behind it.
    named = order_naming.create_params

    def unbuildable(order: Order) -> dict[str, Any]:
        # A parameter ccxt cannot turn into a request: it fails in its own code.
        return {**named(order), "quoteOrderQty": "not a number"}

    monkeypatch.setattr(order_naming, "create_params", unbuildable)
    _run(path, binance_bot)
    order = Order.objects.get()
    assert (order.status, order.settled) == ("rejected", True), (order.status, order.error)
    assert "refused before it was sent" in order.error
    assert emulator.request_count(path=ORDER, method="POST") == 0
    assert _lookups(emulator) == 0
    assert reserved(binance_bot) == (Decimal(0), Decimal(0))
    decision = binance_bot.decisions.get()
    assert (decision.outcome, decision.reason) == ("failed", "rejected")
    assert "nothing reached the exchange" in decision.message


@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_an_order_whose_request_went_out_and_failed_is_still_looked_up(
    binance_bot: Bot, emulator: BinanceEmulator, path: str
) -> None:
    # A guard (passes before and after): a 500 after the request went out proves
    # nothing, so the order is in doubt and looked up, not closed.
    emulator.inject("server_error", path=ORDER, method="POST")
    _run(path, binance_bot)
    order = Order.objects.get()
    assert emulator.request_count(path=ORDER, method="POST") >= 1
    assert _lookups(emulator) >= 1
    # In doubt, or found to be missing after its lookups and sent again with its id
    # (the batch hands it to the per-bot path at once): never closed as refused.
    assert order.status in ("unknown", "pending", "closed"), (order.status, order.error)
    assert binance_bot.decisions.get().outcome in ("pending", "executed")
