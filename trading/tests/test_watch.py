"""The irregular-activity watch, on the paper exchange's own trade history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import SecurityEvent, TelegramLink
from accounts.tests.fake_telegram import FakeTelegram, fake_telegram  # noqa: F401
from oneclick.tests.broker import queued_packages
from trading.models import ActivityIncident
from trading.tasks import watch_account, watch_activity
from trading.tests.factories import BotFactory
from trading.watch import check_account
from vault.services import client_for
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db


def trade_outside_oneclick(credential, times: int, quote: float = 900) -> None:
    """Round trips made with the key elsewhere (what a leaked key would do)."""
    client = client_for(credential, purpose="sync")
    price = client.fetch_ticker("BTC/USDT")["last"]
    amount = float(client.amount_to_precision("BTC/USDT", quote / price))
    for _ in range(times):
        client.create_order("BTC/USDT", "market", "buy", amount)
        client.create_order("BTC/USDT", "market", "sell", amount)


def test_normal_activity_raises_nothing() -> None:
    bot = BotFactory(allocation=Decimal("1000"))
    trade_outside_oneclick(bot.credential, 1)
    assert check_account(bot.credential) == "normal"
    assert not ActivityIncident.objects.exists()


def test_volume_above_ten_times_the_bots_size_alerts_once_by_email_and_telegram(
    fake_telegram: FakeTelegram, django_capture_on_commit_callbacks
) -> None:
    bot = BotFactory(allocation=Decimal("100"))
    TelegramLink.objects.create(user=bot.owner, chat_id=5)
    trade_outside_oneclick(bot.credential, 1)  # about 1,800 traded vs 100 held
    with django_capture_on_commit_callbacks(execute=True):
        assert check_account(bot.credential) == "alerted"
        assert check_account(bot.credential) == "ongoing"
    assert ActivityIncident.objects.filter(closed_at__isnull=True).count() == 1
    assert [m.subject for m in mail.outbox] == [
        "[OneClick] Irregular trading on your exchange account"
    ]
    assert len(fake_telegram.sent) == 1 and "disable the key" in fake_telegram.sent[0]["text"]
    assert SecurityEvent.objects.filter(user=bot.owner, kind="activity_alert").count() == 1


def test_the_ratio_is_configurable(settings) -> None:
    settings.ACTIVITY_ALERT_RATIO = 100
    bot = BotFactory(allocation=Decimal("100"))
    trade_outside_oneclick(bot.credential, 1)
    assert check_account(bot.credential) == "normal"


def test_an_account_without_bots_is_not_checked() -> None:
    from vault.tests.factories import CredentialFactory

    assert check_account(CredentialFactory()) == "idle"


def queued_watch_tasks(monkeypatch) -> list[tuple[str, tuple]]:
    """Run the scheduled fan-out against the real broker and read what it queued."""
    return [(p["func"], p["args"]) for p in queued_packages(monkeypatch, watch_activity)]


def test_the_watch_queues_one_task_per_active_account_with_bots(monkeypatch) -> None:
    first = BotFactory()
    BotFactory(credential=first.credential)  # two bots, one account: one task
    second = BotFactory()
    disabled = BotFactory()
    disabled.credential.status = disabled.credential.Status.DISABLED
    disabled.credential.save(update_fields=["status"])
    CredentialFactory()  # no bot: nothing to compare with
    queued = queued_watch_tasks(monkeypatch)
    assert sorted(queued) == sorted(
        ("trading.tasks.watch_account", (str(bot.credential.pk),)) for bot in (first, second)
    )


def test_each_queued_check_alerts_on_its_own_account(django_capture_on_commit_callbacks) -> None:
    bot = BotFactory(allocation=Decimal("100"))
    quiet = BotFactory(allocation=Decimal("1000"))
    trade_outside_oneclick(bot.credential, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert watch_activity() == 2  # tests run django-q inline: both checks ran
    assert list(ActivityIncident.objects.values_list("credential", flat=True)) == [
        bot.credential.pk
    ]
    assert watch_account(str(quiet.credential.pk)) == "normal"


def test_a_check_queued_for_an_account_disabled_since_is_skipped() -> None:
    bot = BotFactory(allocation=Decimal("100"))
    trade_outside_oneclick(bot.credential, 1)
    bot.credential.status = bot.credential.Status.DISABLED
    bot.credential.save(update_fields=["status"])
    assert watch_account(str(bot.credential.pk)) == "skipped"
    assert not ActivityIncident.objects.exists()
