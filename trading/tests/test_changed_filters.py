"""An exchange that changed a market's filters (LOT_SIZE step, minimum notional) after
we cached its markets: the order it refuses with -1013 is not placed, and the next
signal is sized against the exchange's new filters instead of the cached ones for the
rest of the hour. Through the real ccxt Binance client against the emulator."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from paper import markets as paper_markets
from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading import market_cache
from trading.execution import execute
from trading.fanout import execute_batch
from trading.models import Bot, Order
from trading.orders import reserved
from vault.clients import public_client

MARKET = "BTC/USDT"


def _coarser_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = paper_markets.MARKETS[MARKET]
    coarser = dataclasses.replace(spec, step_size=Decimal("0.001"), min_amount=Decimal("0.001"))
    monkeypatch.setitem(paper_markets.MARKETS, MARKET, coarser)
    monkeypatch.setitem(paper_markets.MARKETS_BY_ID, spec.id, coarser)


@pytest.mark.parametrize("path", ["one bot", "batch"])
def test_after_a_filter_refusal_the_next_signal_uses_the_new_filters(
    binance_bot: Bot, emulator: BinanceEmulator, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # Fails before this change: the second signal was sized with the cached step and
    # refused again (and so would every signal until the cache expired, up to an hour).
    first = SignalFactory(strategy=binance_bot.strategy, market=MARKET, fraction=Decimal("0.3"))
    second = SignalFactory(strategy=binance_bot.strategy, market=MARKET, fraction=Decimal("0.3"))
    monkeypatch.setattr(market_cache, "MIN_MARKETS_AGE", 0)  # a download a minute old
    market_cache.load_markets(public_client("binance"), "binance")  # cached as they are
    _coarser_steps(monkeypatch)  # the exchange changes the filter after our download
    run = (
        (lambda s: execute_batch(str(s.pk), [str(binance_bot.pk)]))
        if path == "batch"
        else (lambda s: execute(binance_bot.pk, s.pk))
    )
    run(first)
    refused = Order.objects.get(decision__signal=first)
    assert (refused.status, refused.settled) == ("rejected", True)
    assert binance_bot.decisions.get(signal=first).reason == "rejected"
    run(second)
    order = Order.objects.get(decision__signal=second)
    assert (order.status, order.settled) == ("closed", True), (order.status, order.error)
    assert order.amount % Decimal("0.001") == 0
    assert binance_bot.decisions.get(signal=second).outcome == "executed"
    assert reserved(binance_bot) == (Decimal(0), Decimal(0))


def test_a_burst_of_filter_refusals_keeps_a_download_younger_than_a_minute(
    emulator: BinanceEmulator,
) -> None:
    market_cache.load_markets(public_client("binance"), "binance")
    assert not market_cache.forget_stale_markets("binance")
    before = emulator.request_count(path="/api/v3/exchangeInfo")
    market_cache.load_markets(public_client("binance"), "binance")
    assert emulator.request_count(path="/api/v3/exchangeInfo") == before
