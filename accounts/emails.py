"""Emails of the accounts app."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from accounts.models import SecurityEvent, User
from oneclick.site import absolute_url


def send_ip_whitelist_email(user: User) -> None:
    """Tell a newly verified user which addresses to trust on exchange API keys."""
    context = {
        "user": user,
        "egress_ips": settings.EGRESS_IPS,
        "page_url": absolute_url("accounts:ip_whitelist"),
    }
    send_mail(
        subject="[OneClick] Add our IP addresses to your exchange API key",
        message=render_to_string("accounts/email/ip_whitelist.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def send_security_notice_email(user: User, kind: SecurityEvent.Kind) -> None:
    context = {
        "user": user,
        "what": kind.label,
        "events_url": absolute_url("accounts:security_events"),
    }
    send_mail(
        subject=f"[OneClick] Security change on your account: {kind.label}",
        message=render_to_string("accounts/email/security_notice.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
