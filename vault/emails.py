from __future__ import annotations

from django.template.loader import render_to_string

from accounts.models import SecurityEvent
from oneclick.site import absolute_url
from vault.models import ExchangeCredential


def key_alert_body(credential: ExchangeCredential, kind: SecurityEvent.Kind) -> str:
    """The email telling the owner something happened to their key. Never includes a secret."""
    context = {
        "credential": credential,
        "what": kind.label,
        "kind": str(kind),
        "key_url": absolute_url("vault:detail", credential.pk),
        "ip_url": absolute_url("accounts:ip_whitelist"),
    }
    return render_to_string("vault/email/key_alert.txt", context)
