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
    idle = BotFactory()  # an account never read: read once, then only when it trades
    signal = SignalFactory(strategy=bot.strategy, market="BTC/USDT", fraction=Decimal("0.2"))
    assert execute(bot.pk, signal.pk).outcome == "executed"
    assert not Balance.objects.exists()
    assert refresh_balances() == 2
    usdt = Balance.objects.get(credential=bot.credential, currency="USDT")
    assert usdt.total > 0
    assert Balance.objects.filter(credential=idle.credential).exists()
    assert refresh_balances() == 0  # nothing traded since, nothing stale


def test_balances_read_long_ago_are_read_again_though_nothing_traded(settings) -> None:
    # The owner may trade by hand on the same account: a stale read is refreshed.
    from datetime import timedelta

    from django.utils import timezone

    bot = BotFactory()
    assert refresh_balances() == 1
    assert refresh_balances() == 0
    old = timezone.now() - timedelta(seconds=settings.BALANCE_MAX_AGE_SECONDS + 60)
    Balance.objects.filter(credential=bot.credential).update(synced_at=old)
    assert refresh_balances() == 1
