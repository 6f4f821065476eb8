"""Simulated network time: per request, never while the account is locked."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest
from django.db import connection

from paper import exchange as paper_exchange
from paper.async_support import AsyncPaperExchange
from paper.config import PaperConfig
from paper.exchange import PaperExchange
from paper.models import PaperOrder
from paper.tests.conftest import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_request_waits_its_latency_outside_any_transaction(
    paper_config: PaperConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[tuple[float, bool]] = []
    monkeypatch.setattr(
        paper_exchange.time, "sleep", lambda s: waits.append((s, connection.in_atomic_block))
    )
    config = dataclasses.replace(paper_config, latency_ms=50)
    exchange = PaperExchange(apiKey="paper-slow", secret=SECRET, config=config)
    exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    exchange.fetch_ticker("BTC/USDT")
    # Half on the way there, half on the way back, for each of the two requests.
    assert waits == [(0.025, False)] * 4
    assert exchange.market("BTC/USDT")["symbol"] == "BTC/USDT"  # local: no wait
    assert len(waits) == 4


def test_the_latency_comes_from_settings(settings, clock) -> None:
    settings.PAPER_LATENCY_MS = 50
    assert PaperConfig.from_settings(clock=clock).latency_ms == 50


def test_threads_on_one_account_overlap_their_waits(paper_config: PaperConfig) -> None:
    config = dataclasses.replace(paper_config, latency_ms=400)
    PaperExchange(apiKey="paper-overlap", secret=SECRET, config=paper_config).fetch_balance()

    def call() -> None:
        PaperExchange(apiKey="paper-overlap", secret=SECRET, config=config).fetch_balance()
        connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 1.2  # one account, four calls: not 4 x 0.4 s in a row


def test_the_async_exchange_overlaps_many_requests_on_one_event_loop(
    paper_config: PaperConfig,
) -> None:
    config = dataclasses.replace(paper_config, latency_ms=300)
    exchanges = [
        AsyncPaperExchange(apiKey=f"paper-async-{i}", secret=SECRET, config=config)
        for i in range(20)
    ]

    async def trade() -> list[dict]:
        orders = await asyncio.gather(
            *(exchange.create_order("BTC/USDT", "market", "buy", 0.001) for exchange in exchanges)
        )
        for exchange in exchanges:
            await exchange.close()
        return orders

    started = time.monotonic()
    orders = asyncio.run(trade())
    elapsed = time.monotonic() - started
    assert elapsed < 20 * 0.3 / 2  # far below twenty waits in a row
    assert all(order["status"] == "closed" and order["trades"] for order in orders)
    assert PaperOrder.objects.count() == 20


def test_the_async_exchange_keeps_markets_local_and_loads_them_once(
    paper_config: PaperConfig,
) -> None:
    exchange = AsyncPaperExchange(config=dataclasses.replace(paper_config, latency_ms=10))

    async def load() -> tuple[dict, dict]:
        return await exchange.load_markets(), await exchange.load_markets()

    first, again = asyncio.run(load())
    assert first is again and "BTC/USDT" in first
    assert exchange.amount_to_precision("BTC/USDT", 0.123456) == "0.12345"
    assert "secret" not in repr(exchange)
