"""Queue tasks of the vault: ids in, one service call each."""

from __future__ import annotations

from django_q.tasks import async_task

from accounts.models import SecurityEvent
from vault.emails import send_key_alert_email
from vault.models import ExchangeCredential
from vault.services import credential_recheck


def recheck_all_credentials() -> int:
    """Fan out one re-check per active credential (scheduled)."""
    ids = ExchangeCredential.objects.filter(status=ExchangeCredential.Status.ACTIVE).values_list(
        "pk", flat=True
    )
    for pk in ids:
        async_task("vault.tasks.recheck_credential", str(pk))
    return len(ids)


def recheck_credential(credential_id: str) -> str:
    credential = ExchangeCredential.objects.select_related("owner").get(pk=credential_id)
    if credential.status != ExchangeCredential.Status.ACTIVE:
        return "skipped"
    return credential_recheck(credential)


def send_key_alert(credential_id: str, kind: str) -> None:
    """Email the owner, and queue the same alert to their Telegram chat if linked."""
    from django.conf import settings

    from accounts.models import TelegramLink

    credential = ExchangeCredential.objects.select_related("owner").get(pk=credential_id)
    event = SecurityEvent.Kind(kind)
    send_key_alert_email(credential, event)
    if settings.TELEGRAM_BOT_TOKEN and TelegramLink.objects.filter(user=credential.owner).exists():
        async_task(
            "accounts.tasks.deliver_telegram",
            credential.owner_id,
            f"{event.label}: {credential.label}",
            f"Your key {credential.label} ({credential.api_key_masked}) on {credential.exchange_id}: "
            f"{credential.status_reason or event.label}. See the key's page on OneClick.",
        )
