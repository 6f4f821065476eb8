"""Orders, fills, fees and balances through the ccxt-shaped interface."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import ccxt
import pytest

from paper import prices
from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.engine import OrderRequest, open_desk
from paper.exchange import PaperExchange
from paper.models import PaperOrder
from paper.tests.conftest import SECRET, ExchangeFactory, key_of

SYMBOL = "BTC/USDT"


def current_price(exchange: PaperExchange) -> float:
    return exchange.fetch_ticker(SYMBOL)["last"]


def test_the_ticker_and_candles_agree_on_the_current_price(exchange: PaperExchange) -> None:
    ticker = exchange.fetch_ticker(SYMBOL)
    candles = exchange.fetch_ohlcv(SYMBOL, "1m", limit=5)
    assert len(candles) == 5
    assert candles[-1][4] == ticker["last"]
    assert ticker["bid"] < ticker["last"] < ticker["ask"]
    assert ticker["low"] <= ticker["last"] <= ticker["high"]


def test_two_instances_see_the_same_prices(
    make_exchange: ExchangeFactory, paper_config: PaperConfig
) -> None:
    one, two = make_exchange(), PaperExchange(config=paper_config)
    assert one.fetch_ohlcv(SYMBOL, "1h", limit=24) == two.fetch_ohlcv(SYMBOL, "1h", limit=24)


def test_a_new_account_starts_with_the_configured_balances(exchange: PaperExchange) -> None:
    balance = exchange.fetch_balance()
    assert balance["total"] == {"USDC": 10000.0, "USDT": 10000.0}
    assert balance["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}


def test_a_market_buy_fills_at_once_near_the_price_and_pays_the_taker_fee(
    exchange: PaperExchange,
) -> None:
    price = current_price(exchange)
    order = exchange.create_order(SYMBOL, "market", "buy", 0.01)
    assert order["status"] == "closed"
    assert order["filled"] == 0.01 and order["remaining"] == 0
    assert price <= order["average"] <= price * 1.001  # a little slippage, against us
    (trade,) = order["trades"]
    assert trade["takerOrMaker"] == "taker"
    assert trade["fee"]["currency"] == "USDT"
    assert trade["fee"]["cost"] == pytest.approx(trade["cost"] * 0.001)
    balance = exchange.fetch_balance()
    assert balance["BTC"]["free"] == 0.01
    assert balance["USDT"]["total"] == pytest.approx(10000 - order["cost"] - order["fee"]["cost"])


def test_a_market_sell_pays_its_fee_out_of_the_proceeds(exchange: PaperExchange) -> None:
    exchange.create_order(SYMBOL, "market", "buy", 0.01)
    before = exchange.fetch_balance()["USDT"]["free"]
    sold = exchange.create_order(SYMBOL, "market", "sell", 0.01)
    assert sold["average"] <= current_price(exchange)
    after = exchange.fetch_balance()
    assert after["BTC"]["total"] == 0
    assert after["USDT"]["free"] == pytest.approx(before + sold["cost"] - sold["fee"]["cost"])


def test_a_market_order_given_a_price_is_sized_in_quote_like_binance(
    exchange: PaperExchange,
) -> None:
    price = current_price(exchange)
    order = exchange.create_order(SYMBOL, "market", "buy", 0.01, price)
    assert order["status"] == "closed"
    assert 0.0099 <= order["amount"] <= 0.01
    assert order["cost"] <= 0.01 * price


def test_a_limit_order_below_the_market_rests_and_holds_its_funds(
    exchange: PaperExchange,
) -> None:
    limit = round(current_price(exchange) * 0.9, 2)
    order = exchange.create_order(SYMBOL, "limit", "buy", 0.01, limit)
    assert order["status"] == "open" and order["filled"] == 0
    held = round(0.01 * limit * 1.001, 8)  # amount x limit, plus the larger fee
    balance = exchange.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(held)
    assert balance["USDT"]["free"] == pytest.approx(10000 - held)
    assert [o["id"] for o in exchange.fetch_open_orders(SYMBOL)] == [order["id"]]


def test_cancelling_releases_the_funds(exchange: PaperExchange) -> None:
    limit = round(current_price(exchange) * 0.9, 2)
    order = exchange.create_order(SYMBOL, "limit", "buy", 0.01, limit)
    canceled = exchange.cancel_order(order["id"], SYMBOL)
    assert canceled["status"] == "canceled"
    assert exchange.fetch_balance()["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}
    assert exchange.fetch_open_orders() == []
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(order["id"], SYMBOL)


def test_a_resting_limit_order_fills_as_maker_in_the_first_minute_that_reaches_it(
    exchange: PaperExchange, clock: ManualClock, paper_config: PaperConfig
) -> None:
    seed, placed = paper_config.seed, prices.minute_of(clock())
    lows = {m: prices.minute_candle(seed, SYMBOL, m).low for m in range(placed + 1, placed + 61)}
    limit = min(lows.values())
    assert limit < prices.price_at(seed, SYMBOL, placed)  # it rests when placed
    fill_minute = min(m for m, low in lows.items() if low <= limit)

    order = exchange.create_order(SYMBOL, "limit", "buy", 0.01, float(limit))
    clock.advance(minutes=fill_minute - placed - 1)
    assert exchange.fetch_order(order["id"])["status"] == "open"
    clock.advance(minutes=1)
    filled = exchange.fetch_order(order["id"])
    assert filled["status"] == "closed"
    assert filled["average"] == float(limit)
    (trade,) = filled["trades"]
    assert trade["takerOrMaker"] == "maker"
    assert trade["fee"]["cost"] == pytest.approx(trade["cost"] * 0.0008)
    assert trade["timestamp"] == fill_minute * 60_000
    balance = exchange.fetch_balance()
    assert balance["USDT"]["used"] == 0  # the unspent part of the reserve came back
    assert balance["USDT"]["total"] == pytest.approx(10000 - trade["cost"] - trade["fee"]["cost"])


def test_the_fill_does_not_depend_on_how_often_the_account_is_looked_at(
    make_exchange: ExchangeFactory, clock: ManualClock, paper_config: PaperConfig
) -> None:
    placed = prices.minute_of(clock())
    lows = [prices.minute_candle(paper_config.seed, SYMBOL, placed + i).low for i in range(1, 241)]
    limit = float(sorted(lows)[3])  # reached a few times within the next four hours
    watched, ignored = make_exchange(), make_exchange()
    one = watched.create_order(SYMBOL, "limit", "buy", 0.01, limit)
    two = ignored.create_order(SYMBOL, "limit", "buy", 0.01, limit)
    for _ in range(240):
        clock.advance(minutes=1)
        watched.fetch_open_orders()
    first, second = watched.fetch_order(one["id"]), ignored.fetch_order(two["id"])
    assert first["status"] == second["status"] == "closed"
    assert first["lastTradeTimestamp"] == second["lastTradeTimestamp"]
    assert first["trades"][0]["price"] == second["trades"][0]["price"] == limit


def test_a_limit_order_that_crosses_the_market_fills_at_once_as_taker_within_its_limit(
    exchange: PaperExchange,
) -> None:
    limit = round(current_price(exchange) * 1.01, 2)
    order = exchange.create_order(SYMBOL, "limit", "buy", 0.01, limit)
    assert order["status"] == "closed"
    assert order["average"] <= limit
    assert order["trades"][0]["takerOrMaker"] == "taker"


def test_a_large_market_order_fills_in_chunks_over_the_next_minutes(
    make_exchange: ExchangeFactory, paper_config: PaperConfig, clock: ManualClock
) -> None:
    config = dataclasses.replace(paper_config, max_fill_notional=Decimal(1000))
    exchange = make_exchange(config=config)
    order = exchange.create_order(SYMBOL, "market", "buy", 0.04)  # about 2,500 USDT
    assert order["status"] == "open"
    assert 0 < order["filled"] < 0.04
    assert exchange.fetch_balance()["USDT"]["used"] > 0
    assert [o["id"] for o in exchange.fetch_open_orders()] == [order["id"]]
    assert exchange.fetch_order(order["id"])["filled"] == order["filled"]  # same minute: no more

    clock.advance(minutes=1)
    second = exchange.fetch_order(order["id"])
    assert order["filled"] < second["filled"] < 0.04
    clock.advance(minutes=1)
    done = exchange.fetch_order(order["id"])
    assert done["status"] == "closed" and done["filled"] == 0.04
    assert len(done["trades"]) == 3
    assert len({t["timestamp"] for t in done["trades"]}) == 3
    assert exchange.fetch_balance()["USDT"]["used"] == 0
    assert exchange.fetch_balance()["BTC"]["total"] == 0.04


def test_a_client_order_id_finds_the_order_and_cannot_be_used_twice(
    exchange: PaperExchange,
) -> None:
    placed = exchange.create_order(
        SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "bot1-sig7"}
    )
    assert placed["clientOrderId"] == "bot1-sig7"
    found = exchange.fetch_order(None, SYMBOL, {"clientOrderId": "bot1-sig7"})
    assert found["id"] == placed["id"]
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        exchange.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "bot1-sig7"})
    assert PaperOrder.objects.filter(client_order_id="bot1-sig7").count() == 1


def test_orders_without_a_client_order_id_get_one(exchange: PaperExchange) -> None:
    order = exchange.create_order(SYMBOL, "market", "buy", 0.001)
    assert order["clientOrderId"].startswith("paper-")


def test_an_unknown_order_is_not_found(exchange: PaperExchange) -> None:
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order("999999")
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order(None, params={"clientOrderId": "never-sent"})


def test_an_order_below_the_minimum_notional_is_a_bad_request_naming_the_minimum(
    exchange: PaperExchange,
) -> None:
    with pytest.raises(ccxt.BadRequest, match=r"NOTIONAL.*minimum of 5 USDT"):
        exchange.create_order(SYMBOL, "market", "buy", 0.00005)


def test_an_amount_finer_than_the_step_is_truncated_as_ccxt_does(exchange: PaperExchange) -> None:
    order = exchange.create_order(SYMBOL, "market", "buy", 0.0001599)
    assert order["amount"] == 0.00015


def test_an_amount_below_one_step_is_an_invalid_order(exchange: PaperExchange) -> None:
    with pytest.raises(ccxt.InvalidOrder, match="precision"):
        exchange.create_order(SYMBOL, "market", "buy", 0.000001)


def test_raw_amounts_and_prices_off_the_grid_break_lot_size_and_price_filter(
    exchange: PaperExchange, paper_config: PaperConfig
) -> None:
    exchange.fetch_balance()  # opens the account
    key, secret = key_of(exchange), SECRET
    off_step = OrderRequest(SYMBOL, "buy", "market", Decimal("0.000155"))
    off_tick = OrderRequest(SYMBOL, "buy", "limit", Decimal("0.001"), Decimal("50000.005"))
    too_big = OrderRequest(SYMBOL, "buy", "market", Decimal("9001"))
    for request, name in (
        (off_step, "LOT_SIZE"),
        (off_tick, "PRICE_FILTER"),
        (too_big, "LOT_SIZE"),
    ):
        with (
            pytest.raises(ccxt.InvalidOrder, match=name),
            open_desk(key, secret, paper_config) as desk,
        ):
            desk.place(request)


def test_a_limit_order_needs_a_price(exchange: PaperExchange) -> None:
    with pytest.raises(ccxt.InvalidOrder, match="price"):
        exchange.create_order(SYMBOL, "limit", "buy", 0.001)


def test_an_order_the_balance_cannot_cover_is_refused(exchange: PaperExchange) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order(SYMBOL, "market", "buy", 1)
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order(SYMBOL, "market", "sell", 0.001)
    assert exchange.fetch_balance()["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}


def test_funds_held_by_an_open_order_cannot_be_spent_twice(exchange: PaperExchange) -> None:
    limit = round(current_price(exchange) * 0.8, 2)
    exchange.create_order(SYMBOL, "limit", "buy", round(9000 / limit, 5), limit)
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order(SYMBOL, "market", "buy", round(2000 / limit, 5))


def test_my_trades_list_fills_oldest_first_and_filter_by_symbol_and_time(
    exchange: PaperExchange, clock: ManualClock
) -> None:
    first = exchange.create_order(SYMBOL, "market", "buy", 0.001)
    clock.advance(minutes=5)
    second = exchange.create_order("ETH/USDT", "market", "buy", 0.01)
    trades = exchange.fetch_my_trades()
    assert [t["order"] for t in trades] == [first["id"], second["id"]]
    assert [t["order"] for t in exchange.fetch_my_trades("ETH/USDT")] == [second["id"]]
    assert [t["order"] for t in exchange.fetch_my_trades(since=second["timestamp"])] == [
        second["id"]
    ]
    assert [t["order"] for t in exchange.fetch_my_trades(limit=1)] == [second["id"]]


def test_a_paper_key_can_trade_but_never_withdraw(exchange: PaperExchange) -> None:
    assert exchange.check_permissions() == {
        "read": True,
        "spot_trade": True,
        "withdraw": False,
        "ip_restricted": True,
    }
