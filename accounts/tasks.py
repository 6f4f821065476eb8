"""Queue tasks of the accounts app: ids in, one service call each."""

from __future__ import annotations

from accounts.emails import send_ip_whitelist_email, send_security_notice_email
from accounts.models import SecurityEvent, User


def send_ip_whitelist(user_id: int) -> None:
    send_ip_whitelist_email(User.objects.get(pk=user_id))


def send_security_notice(user_id: int, kind: str) -> None:
    send_security_notice_email(User.objects.get(pk=user_id), SecurityEvent.Kind(kind))
