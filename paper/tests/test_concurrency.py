"""Several clients (threads with their own database connections) on one account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paper.config import PaperConfig
from paper.exchange import PaperExchange
from paper.models import PaperBalance, PaperOrder, PaperTrade
from paper.tests.conftest import SECRET
from testing.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_orders_on_one_account_keep_the_books_exact(paper_config: PaperConfig) -> None:
    PaperExchange(apiKey="paper-busy", secret=SECRET, config=paper_config).fetch_balance()

    def trade(worker: int) -> None:
        exchange = PaperExchange(apiKey="paper-busy", secret=SECRET, config=paper_config)
        for n in range(3):
            exchange.create_order(
                "BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": f"w{worker}-{n}"}
            )
            exchange.fetch_balance()

    assert run_in_threads(trade, 4) == []
    assert PaperOrder.objects.count() == 12
    spent = sum((t.cost + t.fee for t in PaperTrade.objects.all()), Decimal(0))
    usdt = PaperBalance.objects.get(asset="USDT")
    btc = PaperBalance.objects.get(asset="BTC")
    assert btc.total == Decimal("0.012")
    assert usdt.total == Decimal(10000) - spent
    assert usdt.used == 0
