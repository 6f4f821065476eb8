"""Replies shaped like a real exchange's: fills in the order reply, one order's
trades by its id, lookups by id and client order id, Binance's duplicate rule."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import ccxt
import pytest

from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.exchange import PaperExchange
from paper.models import PaperOrder
from paper.tests.conftest import ExchangeFactory

SYMBOL = "BTC/USDT"


def below_market(exchange: PaperExchange) -> float:
    return round(exchange.fetch_ticker(SYMBOL)["last"] * 0.8, 2)


def test_the_order_reply_carries_its_fills_as_binance_does_with_full_replies(
    exchange: PaperExchange,
) -> None:
    order = exchange.create_order(SYMBOL, "market", "buy", 0.002)
    (fill,) = order["trades"]
    assert fill["order"] == order["id"]
    assert fill["amount"] == order["filled"] == 0.002
    assert fill["cost"] == order["cost"] and fill["fee"]["cost"] == order["fee"]["cost"]
    # The same fills, by the order's id, as the exchange stored them.
    assert exchange.fetch_my_trades(SYMBOL, params={"orderId": order["id"]}) == [fill]


def test_my_trades_by_order_id_lists_only_that_orders_fills(
    make_exchange: ExchangeFactory, paper_config: PaperConfig, clock: ManualClock
) -> None:
    exchange = make_exchange(
        config=dataclasses.replace(paper_config, max_fill_notional=Decimal("500"))
    )
    chunked = exchange.create_order(SYMBOL, "market", "buy", 0.015)  # fills over 2-3 minutes
    other = exchange.create_order(SYMBOL, "market", "buy", 0.001)
    clock.advance(minutes=3)
    mine = exchange.fetch_my_trades(SYMBOL, params={"orderId": chunked["id"]})
    assert len(mine) > 1 and {t["order"] for t in mine} == {chunked["id"]}
    assert sum(t["amount"] for t in mine) == pytest.approx(0.015)
    assert [
        t["order"] for t in exchange.fetch_my_trades(SYMBOL, params={"orderId": other["id"]})
    ] == [other["id"]]
    assert len(exchange.fetch_my_trades(SYMBOL)) == len(mine) + 1
    assert exchange.fetch_my_trades(SYMBOL, params={"orderId": "999999"}) == []


def test_an_order_is_found_by_its_id_and_by_its_client_order_id(exchange: PaperExchange) -> None:
    placed = exchange.create_order(
        SYMBOL, "limit", "buy", 0.001, below_market(exchange), {"clientOrderId": "bot7-sig3"}
    )
    by_id = exchange.fetch_order(placed["id"], SYMBOL)
    by_client_id = exchange.fetch_order(None, SYMBOL, {"clientOrderId": "bot7-sig3"})
    assert by_id == by_client_id
    assert by_id["status"] == "open" and by_id["clientOrderId"] == "bot7-sig3"
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order(placed["id"], "ETH/USDT")  # not in that market


def test_the_client_order_id_of_an_open_order_is_refused_as_a_binance_duplicate(
    make_exchange: ExchangeFactory, paper_config: PaperConfig
) -> None:
    # Even where the exchange accepts a reused id after a fill, as Binance does.
    exchange = make_exchange(
        config=dataclasses.replace(paper_config, reuse_client_order_id_after_fill=True)
    )
    exchange.create_order(
        SYMBOL, "limit", "buy", 0.001, below_market(exchange), {"clientOrderId": "c-1"}
    )
    with pytest.raises(ccxt.InvalidOrder, match=r'"code":-2010,"msg":"Duplicate order sent."'):
        exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "c-1"})
    assert PaperOrder.objects.filter(client_order_id="c-1").count() == 1
    assert "BTC" not in exchange.fetch_balance()["total"]  # the refused order bought nothing


def test_where_reuse_after_a_fill_is_on_the_newest_order_answers_to_the_client_id(
    make_exchange: ExchangeFactory, paper_config: PaperConfig, settings
) -> None:
    settings.PAPER_REUSE_CLIENT_ORDER_ID_AFTER_FILL = True
    config = PaperConfig.from_settings(clock=paper_config.clock, rate_limit_per_minute=None)
    assert config.reuse_client_order_id_after_fill
    exchange = make_exchange(config=config)
    first = exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "r-1"})
    second = exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "r-1"})
    assert first["status"] == second["status"] == "closed" and first["id"] != second["id"]
    assert exchange.fetch_order(None, SYMBOL, {"clientOrderId": "r-1"})["id"] == second["id"]


def test_by_default_a_client_order_id_is_never_reused_on_an_account(
    exchange: PaperExchange,
) -> None:
    exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "once"})
    with pytest.raises(ccxt.InvalidOrder, match="-2010"):
        exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "once"})
