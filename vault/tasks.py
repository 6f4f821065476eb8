"""Queue tasks of the vault: ids in, one service call each."""

from __future__ import annotations

from django_q.tasks import async_task

from accounts.models import SecurityEvent
from vault.models import ExchangeCredential
from vault.services import alert_owner, credential_recheck


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
    """Tasks queued by releases before alerts were routed by accounts.notifications."""
    credential = ExchangeCredential.objects.select_related("owner").get(pk=credential_id)
    alert_owner(credential, kind=SecurityEvent.Kind(kind))
