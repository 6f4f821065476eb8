"""Linking a user's Telegram chat through a one-time deep-link token."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.events import record_event
from accounts.models import SecurityEvent, TelegramLink, TelegramLinkToken, User


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def telegram_link_start(*, user: User) -> str:
    """A ``https://t.me/<bot>?start=<token>`` link, valid once for a few minutes."""
    TelegramLinkToken.objects.filter(user=user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-], as Telegram allows
    TelegramLinkToken.objects.create(
        user=user,
        digest=_digest(token),
        expires_at=timezone.now() + dt.timedelta(minutes=settings.TELEGRAM_LINK_TOKEN_MINUTES),
    )
    return f"https://t.me/{quote(settings.TELEGRAM_BOT_USERNAME)}?start={token}"


@transaction.atomic
def telegram_link_complete(*, token: str, chat_id: int, username: str = "") -> User | None:
    """Bind ``chat_id`` to the token's user; None for an unknown, used or expired token."""
    now = timezone.now()
    spent = TelegramLinkToken.objects.filter(
        digest=_digest(token), used_at__isnull=True, expires_at__gt=now
    )
    row = spent.select_related("user").first()
    # The conditional UPDATE makes the token single-use even under concurrent webhooks.
    if row is None or not spent.filter(pk=row.pk).update(used_at=now):
        return None
    TelegramLink.objects.update_or_create(
        user=row.user, defaults={"chat_id": chat_id, "username": username[:64]}
    )
    record_event(user=row.user, kind=SecurityEvent.Kind.TELEGRAM_LINKED, chat=username[:64])
    return row.user


def telegram_unlink(*, request: HttpRequest, user: User) -> None:
    if TelegramLink.objects.filter(user=user).delete()[0]:
        record_event(user=user, kind=SecurityEvent.Kind.TELEGRAM_UNLINKED, request=request)
