"""Fees paid in a currency that is neither the market's base nor its quote (BNB on
Binance): valued in the quote currency when they are booked, from a ticker of
FEE/QUOTE taken through the shared price snapshots; shown in their own currency,
and said to be left out of the result, when no price can be had.

The exchange is the Binance emulator, answering the real ccxt client; its order
reply is rewritten so the fills' commission is charged in another asset.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading.execution import execute
from trading.fanout import execute_batch
from trading.models import Bot, Fill, Order
from trading.pnl import Book, FillEvent, apply_fill

ORDER = "/api/v3/order"
TICKER = "/api/v3/ticker/24hr"
D = Decimal


def _fee_in(asset: str, commission: str):
    def rewrite(body: Any) -> Any:
        fills = [{**f, "commission": commission, "commissionAsset": asset} for f in body["fills"]]
        return {**body, "fills": fills}

    return rewrite


def _trade(bot: Bot, path: str) -> None:
    signal = SignalFactory(strategy=bot.strategy, market="BTC/USDT")
    if path == "batch":
        execute_batch(str(signal.pk), [str(bot.pk)])
    else:
        execute(bot.pk, signal.pk)


def test_a_third_currency_fee_with_a_value_counts_like_a_quote_fee() -> None:
    book = Book(cash=D("1000"))
    apply_fill(
        book, FillEvent("BTC/USDT", "buy", D("0.01"), D("20000"), D("0.001"), "BNB", D("0.3"))
    )
    assert book.fees_paid == D("0.3")
    assert book.cash == D("1000") - D("200") - D("0.3")
    assert book.unvalued_fees == {}


def test_a_third_currency_fee_without_a_value_is_kept_in_its_own_currency() -> None:
    book = Book(cash=D("1000"))
    apply_fill(book, FillEvent("BTC/USDT", "buy", D("0.01"), D("20000"), D("0.001"), "BNB"))
    apply_fill(book, FillEvent("BTC/USDT", "sell", D("0.01"), D("20000"), D("0.002"), "BNB"))
    assert book.fees_paid == 0 and book.cash == D("1000")
    assert book.unvalued_fees == {"BNB": D("0.003")}


@pytest.mark.parametrize("path", ["per bot", "batch"])
def test_a_fee_in_a_priced_third_currency_is_in_fees_paid_and_the_result(
    path: str, binance_bot: Bot, emulator: BinanceEmulator
) -> None:
    # ETH is neither base nor quote of BTC/USDT, and ETH/USDT has a price.
    # Failed before: fees_paid 0 and the result as if the trade were free.
    emulator.tamper(ORDER, _fee_in("ETH", "0.001"), method="POST")
    _trade(binance_bot, path)
    order = Order.objects.get()
    assert order.settled and order.status == "closed"
    fills = list(Fill.objects.filter(order=order))
    assert fills and all((f.fee, f.fee_currency) == (D("0.001"), "ETH") for f in fills)
    assert all(f.fee_value and f.fee_value > 0 for f in fills)
    binance_bot.refresh_from_db()
    fees = sum((f.fee_value for f in fills if f.fee_value), D(0))
    assert binance_bot.fees_paid == fees > 0
    assert binance_bot.cash == binance_bot.allocation - order.cost - fees
    assert binance_bot.unvalued_fees == {}
    # Counted in the weight budget: the ETH/USDT ticker went through the emulator.
    assert emulator.request_count(path=TICKER) >= 1


@pytest.mark.parametrize("path", ["per bot", "batch"])
def test_a_fee_in_an_unpriced_third_currency_is_shown_in_its_currency_not_as_0(
    path: str, binance_bot: Bot, emulator: BinanceEmulator, user, verified_client
) -> None:
    # The emulator lists no BNB market: no price. Failed before: the fee vanished.
    emulator.tamper(ORDER, _fee_in("BNB", "0.0005"), method="POST")
    _trade(binance_bot, path)
    order = Order.objects.get()
    assert order.settled
    count = order.fills.count()
    binance_bot.refresh_from_db()
    assert binance_bot.fees_paid == 0
    assert {k: D(v) for k, v in binance_bot.unvalued_fees.items()} == {"BNB": D("0.0005") * count}
    assert binance_bot.cash == binance_bot.allocation - order.cost
    Bot.objects.filter(pk=binance_bot.pk).update(owner=user)
    type(binance_bot.credential).objects.filter(pk=binance_bot.credential_id).update(owner=user)
    page = verified_client.get(f"/bots/{binance_bot.pk}/").content.decode()
    assert "BNB" in page and "not included in the result" in page
    dashboard = verified_client.get("/dashboard/").content.decode()
    assert "BNB" in dashboard and "not included in the result" in dashboard
