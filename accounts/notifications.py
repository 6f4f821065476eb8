"""Alerts to a user: by email always, by Telegram when linked. Queued after commit.

The one place that routes an alert: accounts, vault and trading all call ``notify_user``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from accounts.models import TelegramLink, User


def notify_user(*, user: User, subject: str, body: str, short: str = "") -> None:
    """Queue the alert; each channel is its own task so one failing never repeats the other.

    ``short`` is the Telegram text when the email's ``body`` is too long for a chat.
    ``subject``, ``body`` and ``short`` must never hold a secret (task arguments are stored).
    """
    telegram = bool(settings.TELEGRAM_BOT_TOKEN) and TelegramLink.objects.filter(user=user).exists()

    def queue() -> None:
        async_task("accounts.tasks.deliver_email", user.pk, subject, body)
        if telegram:
            async_task("accounts.tasks.deliver_telegram", user.pk, subject, short or body)

    transaction.on_commit(queue)
