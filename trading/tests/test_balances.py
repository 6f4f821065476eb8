"""Balances are read on a schedule for accounts that traded, not after every order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paper.keys import new_credentials
from strategies.tests.factories import SignalFactory
from trading import receivers
from trading.execution import execute
from trading.models import Balance
from trading.tasks import refresh_account, refresh_balances
from trading.tests.factories import BotFactory
from vault.models import ExchangeCredential
from vault.services import credential_link

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


def test_a_newly_linked_paper_key_has_its_balances_read_at_once(
    user, totp_device, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """The dashboard promised balances "at the next read" up to 15 minutes after
    linking (new-user walk): linking queues a read of that one account."""

    queued: list[tuple[str, tuple[object, ...]]] = []
    monkeypatch.setattr(
        receivers, "async_task", lambda name, *args, **kw: queued.append((name, args))
    )
    api_key, secret = new_credentials()
    with django_capture_on_commit_callbacks(execute=True):
        result = credential_link(
            meta=None, user=user, exchange_id="paper", label="Paper", api_key=api_key, secret=secret
        )
    credential_id = str(result.credential.pk)
    assert queued == [("trading.tasks.refresh_account", (credential_id,))]
    assert api_key not in repr(queued) and secret not in repr(queued)

    assert refresh_account(credential_id) == "read"
    usdt = Balance.objects.get(credential=result.credential, currency="USDT")
    assert usdt.total > 0


def test_a_balance_read_queued_for_a_key_disabled_since_is_skipped() -> None:

    bot = BotFactory()
    ExchangeCredential.objects.filter(pk=bot.credential.pk).update(
        status=ExchangeCredential.Status.DISABLED
    )
    assert refresh_account(str(bot.credential.pk)) == "skipped"
    assert not Balance.objects.exists()


def test_an_early_balance_read_the_exchange_refuses_is_left_to_the_schedule(caplog) -> None:
    # Run inline (a sync cluster, as in the browser tests) it failed the link with a 500.
    from paper import faults

    bot = BotFactory()
    faults.inject(bot.credential.api_key, "timeout", method="fetch_balance")
    assert refresh_account(str(bot.credential.pk)) == "failed"
    assert not Balance.objects.exists()
    assert "not read yet" in caplog.text
    assert refresh_balances() == 1  # the schedule reads it


def test_the_balances_read_runs_every_minute_so_a_trade_shows_within_about_a_minute() -> None:
    # The dashboard's balances lagged a trade by up to 15 minutes (new-user walk).
    from oneclick.schedules import PERIODIC

    (entry,) = [p for p in PERIODIC if p.func == "trading.tasks.refresh_balances"]
    assert entry.minutes == 1


def test_a_balances_read_still_running_makes_the_next_one_skip() -> None:
    # Every minute, a run over many accounts may outlast the period: two runs at once
    # would read (and spend the exchange's weight on) the same accounts twice.
    from django.core.cache import cache

    from trading.tasks import BALANCES_READ_LOCK

    BotFactory()
    assert cache.add(BALANCES_READ_LOCK, "another run", 60)
    try:
        assert refresh_balances() == 0
        assert not Balance.objects.exists()
    finally:
        cache.delete(BALANCES_READ_LOCK)
    assert refresh_balances() == 1
    assert cache.get(BALANCES_READ_LOCK) is None  # released after the run


def test_a_read_drops_assets_the_account_no_longer_holds_and_is_not_due_again(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    # A sold-out asset missing from the reply kept its old row: the page showed it, and its
    # old read time made the account look traded-since-read at every (now minutely) run.
    from trading import orders

    bot = BotFactory()
    replies = iter(
        [
            {"USDT": {"free": 5, "used": 0, "total": 5}, "ETH": {"free": 1, "used": 0, "total": 1}},
            {"USDT": {"free": 9, "used": 0, "total": 9}},
        ]
    )
    monkeypatch.setattr(orders, "with_limits", lambda *a, **k: lambda *call: next(replies))
    pushed: list[tuple[int, str]] = []
    monkeypatch.setattr(
        orders, "push_to_user", lambda user, event, data: pushed.append((user, event))
    )
    orders.refresh_balances(bot.credential)
    orders.refresh_balances(bot.credential)
    assert {b.currency: b.total for b in Balance.objects.filter(credential=bot.credential)} == {
        "USDT": Decimal(9)
    }
    assert bot.credential not in orders.accounts_due_balances()
    # Each read updates the owner's open pages (the dashboard's balances box).
    assert pushed == [(bot.owner_id, "balances")] * 2
