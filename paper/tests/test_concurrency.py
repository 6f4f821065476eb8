"""Several clients (threads with their own database connections) on one account."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from paper.config import PaperConfig
from paper.exchange import PaperExchange
from paper.models import PaperBalance, PaperOrder, PaperTrade
from paper.tests.conftest import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_orders_on_one_account_keep_the_books_exact(paper_config: PaperConfig) -> None:
    PaperExchange(apiKey="paper-busy", secret=SECRET, config=paper_config).fetch_balance()
    errors: list[BaseException] = []

    def trade(worker: int) -> None:
        try:
            exchange = PaperExchange(apiKey="paper-busy", secret=SECRET, config=paper_config)
            for n in range(3):
                exchange.create_order(
                    "BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": f"w{worker}-{n}"}
                )
                exchange.fetch_balance()
        except BaseException as error:  # reported to the test thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=trade, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert PaperOrder.objects.count() == 12
    spent = sum((t.cost + t.fee for t in PaperTrade.objects.all()), Decimal(0))
    usdt = PaperBalance.objects.get(asset="USDT")
    btc = PaperBalance.objects.get(asset="BTC")
    assert btc.total == Decimal("0.012")
    assert usdt.total == Decimal(10000) - spent
    assert usdt.used == 0
