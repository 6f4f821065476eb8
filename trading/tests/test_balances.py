"""Balances are read on a schedule for accounts that traded, not after every order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.tests.factories import SignalFactory
from trading.execution import execute
from trading.models import Balance
from trading.tasks import refresh_balances
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db


def test_an_order_reads_no_balances_and_the_schedule_reads_them_once_per_trading_account() -> None:
    bot = BotFactory()
    BotFactory()  # an account that has not traded: not read
    signal = SignalFactory(strategy=bot.strategy, market="BTC/USDT", fraction=Decimal("0.2"))
    assert execute(bot.pk, signal.pk).outcome == "executed"
    assert not Balance.objects.exists()
    assert refresh_balances() == 1
    usdt = Balance.objects.get(credential=bot.credential, currency="USDT")
    assert usdt.total > 0
    assert refresh_balances() == 0  # nothing traded since
