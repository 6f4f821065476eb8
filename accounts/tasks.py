"""Queue tasks of the accounts app: ids in, one service call each."""

from __future__ import annotations

from django.core.mail import send_mail

from accounts.emails import send_ip_whitelist_email, send_security_notice_email
from accounts.models import SecurityEvent, TelegramLink, User
from oneclick.names import one_line


def send_ip_whitelist(user_id: int) -> None:
    send_ip_whitelist_email(User.objects.get(pk=user_id))


def send_security_notice(user_id: int, kind: str) -> None:
    send_security_notice_email(User.objects.get(pk=user_id), SecurityEvent.Kind(kind))


def deliver_email(user_id: int, subject: str, body: str) -> None:
    user = User.objects.get(pk=user_id)
    # A name stored before line breaks were refused would make send_mail refuse the subject.
    send_mail(f"[OneClick] {one_line(subject)}", body, from_email=None, recipient_list=[user.email])


def deliver_telegram(user_id: int, subject: str, body: str) -> None:
    """Raises on a Telegram failure, so the queue retries this message alone."""
    # Start-up cost: python-telegram-bot (and httpx) load only when a message goes out.
    from accounts.telegram import send_message

    link = TelegramLink.objects.filter(user_id=user_id).first()
    if link is not None:
        send_message(link.chat_id, f"{subject}\n\n{body}")
