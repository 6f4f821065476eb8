"""A balances read racing a fill: the exchange's reply was made before the fill, but
stored after it. The stored balances do not show the trade, so the account must stay
due for another read; it must not look read "after" the fill and keep the pre-trade
balances for hours. The bot's own figures come from its fills, never from balances.
Through the real ccxt Binance client against the emulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import trading.orders as orders
from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading import sync
from trading.execution import execute
from trading.models import Balance, Bot, Order
from trading.orders import accounts_due_balances, refresh_balances


def test_a_balances_reply_older_than_a_fill_leaves_the_account_due(
    binance_bot: Bot, emulator: BinanceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fails before this change: the read was stamped when stored, after the fill, so the
    # account was not due again for BALANCE_MAX_AGE_SECONDS (6 h) with pre-trade balances.
    store = sync.store_balances
    credential = binance_bot.credential

    def fill_lands_while_the_reply_travels(*args: Any, **kwargs: Any) -> None:
        execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
        store(*args, **kwargs)

    monkeypatch.setattr(orders, "store_balances", fill_lands_while_the_reply_travels)
    refresh_balances(credential)
    monkeypatch.undo()
    order = Order.objects.get()
    assert (order.status, order.settled) == ("closed", True)
    stored_btc = Balance.objects.filter(credential=credential, currency="BTC").first()
    held = stored_btc.total if stored_btc else Decimal(0)
    assert binance_bot.positions.get().amount == order.filled  # the bot's books: its fills
    assert credential in accounts_due_balances()
    refresh_balances(credential)  # the next scheduled read shows the trade
    btc = Balance.objects.get(credential=credential, currency="BTC").total
    assert btc - held == order.filled
    assert credential not in accounts_due_balances()
