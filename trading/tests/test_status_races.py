"""Pause and resume are compare-and-set on the bot's status: a bot stopped meanwhile
(by its owner in another tab, while staff confirm the incident switch) stays stopped,
and owners are emailed only about bots this switch really paused."""

from __future__ import annotations

import pytest
from django.test import Client

from trading.models import Bot
from trading.services import BotRefused, bot_pause, bot_resume
from trading.tests.factories import BotFactory
from trading.tests.test_admin import staff_client  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def test_a_pause_from_a_stale_copy_does_not_unstop_a_bot() -> None:
    # Failed before: the stale copy said "active", so the bot became paused, then resumable.
    bot = BotFactory()
    Bot.objects.filter(pk=bot.pk).update(status="stopped")  # the owner stopped it meanwhile
    with pytest.raises(BotRefused):
        bot_pause(meta=None, bot=bot)
    assert Bot.objects.get(pk=bot.pk).status == "stopped"


def test_a_resume_from_a_stale_copy_does_not_restart_a_stopped_bot() -> None:
    bot = BotFactory(status="paused")
    Bot.objects.filter(pk=bot.pk).update(status="stopped")
    with pytest.raises(BotRefused):
        bot_resume(meta=None, bot=bot)
    assert Bot.objects.get(pk=bot.pk).status == "stopped"


def test_the_incident_switch_confirmed_twice_pauses_and_emails_once(
    staff_client: Client,
    mailoutbox,
    django_capture_on_commit_callbacks,
    monkeypatch,
) -> None:
    # Two staff confirm at once: both read the same running bots before either pauses.
    # Simulated by the other confirmation pausing every bot right after ours read them.
    bots = [BotFactory(), BotFactory()]

    def other_staff_first(*, meta, bot, reason):
        Bot.objects.filter(pk=bot.pk).update(status="paused", status_reason="other")
        return bot_pause(meta=meta, bot=bot, reason=reason)

    monkeypatch.setattr("trading.admin.bot_pause", other_staff_first)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/trading/bot/",
            {"action": "pause_exchange", "_selected_action": [bots[0].pk], "confirm": "yes"},
            follow=True,
        )
    # Failed before: both owners were emailed again and the page said 2 bots paused.
    assert mailoutbox == []
    assert "Paused 0 bot(s)" in response.content.decode()
