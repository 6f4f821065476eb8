from __future__ import annotations

from django.core.mail import send_mail
from django.template.loader import render_to_string

from accounts.models import SecurityEvent
from oneclick.site import absolute_url
from vault.models import ExchangeCredential


def send_key_alert_email(credential: ExchangeCredential, kind: SecurityEvent.Kind) -> None:
    """Tell the owner something happened to their key. Never includes a secret."""
    context = {
        "credential": credential,
        "what": kind.label,
        "kind": str(kind),
        "key_url": absolute_url("vault:detail", credential.pk),
        "ip_url": absolute_url("accounts:ip_whitelist"),
    }
    send_mail(
        subject=f"[OneClick] {kind.label}: {credential.label}",
        message=render_to_string("vault/email/key_alert.txt", context),
        from_email=None,
        recipient_list=[credential.owner.email],
    )
