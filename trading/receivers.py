"""Signal receivers: the security event log drives the live sockets.

Every security-relevant action records a ``SecurityEvent`` (accounts), so this
one receiver sees logouts, password changes and 2FA changes from every code
path without ``accounts`` importing ``trading`` (dependencies point one way).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_q.tasks import async_task

from accounts.models import SecurityEvent
from trading.events import end_user_sockets, push_to_user

Kind = SecurityEvent.Kind

# After these, a socket opened under the old session must be checked again.
SESSION_ENDING = frozenset(
    {
        Kind.LOGOUT,
        Kind.PASSWORD_CHANGED,
        Kind.PASSWORD_RESET,
        Kind.TWOFA_DISABLED,
        Kind.TWOFA_REPLACED,
    }
)
# These change what a live page shows (a bot blocked, an alert raised).
SHOWN_LIVE = frozenset(
    {
        Kind.KEY_DISABLED,
        Kind.KEY_ENABLED,
        Kind.KEY_DELETED,
        Kind.KEY_INVALID,
        Kind.KEY_PERMISSIONS_CHANGED,
        Kind.KEY_EXPIRING,
        Kind.ACTIVITY_ALERT,
        Kind.BOTS_PAUSED_BY_STAFF,
        Kind.SECRET_UNREADABLE,
    }
)
# A key that can trade again: read its balances now, not at the next scheduled read.
KEY_USABLE = frozenset({Kind.KEY_LINKED, Kind.KEY_ENABLED})


def _queue_balance_read(credential_id: str) -> None:
    transaction.on_commit(
        lambda: async_task("trading.tasks.refresh_account", credential_id, group="balances")
    )


@receiver(post_save, sender=SecurityEvent)
def on_security_event(sender: type, instance: SecurityEvent, created: bool, **kwargs: Any) -> None:
    if not created or instance.user_id is None:
        return
    if instance.kind in SESSION_ENDING:
        end_user_sockets(instance.user_id)
    elif instance.kind in SHOWN_LIVE:
        push_to_user(instance.user_id, "alert", {"kind": instance.kind})
    if instance.kind in KEY_USABLE and instance.detail.get("credential"):
        _queue_balance_read(str(instance.detail["credential"]))
