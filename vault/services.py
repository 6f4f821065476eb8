"""Credential lifecycle: link, disable, re-enable, delete, re-check, open.

Views, tasks and trading call these; they are the only writers of credentials.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.events import RequestMeta, record_event
from accounts.models import SecurityEvent, User
from accounts.notifications import notify_user
from accounts.otp import has_two_factor
from sealed.crypto import VaultDecryptionError
from vault.clients import KeyMaterial, build_client
from vault.emails import key_alert_body
from vault.exchanges import exchange_info
from vault.models import CredentialUse, ExchangeCredential, mask_key
from vault.permissions import KeyCheck, KeyRefused, enforce_policy
from vault.verification import ExchangeUnavailable, inspect_key

logger = logging.getLogger(__name__)
Status = ExchangeCredential.Status
Kind = SecurityEvent.Kind


class CredentialUnusable(Exception):
    """The credential cannot be used to reach the exchange (not active, or unreadable)."""


@dataclass(frozen=True)
class LinkResult:
    credential: ExchangeCredential
    warnings: list[str]


def alert_owner(credential: ExchangeCredential, *, kind: SecurityEvent.Kind) -> None:
    """Tell the owner about their key after the transaction commits: by email, and by
    Telegram when linked (accounts.notifications routes every alert)."""
    notify_user(
        user=credential.owner,
        subject=f"{kind.label}: {credential.label}",
        body=key_alert_body(credential, kind),
        short=(
            f"Your key {credential.label} ({credential.api_key_masked}) on "
            f"{credential.exchange_id}: {credential.status_reason or kind.label}. "
            "See the key's page on OneClick."
        ),
    )


@sensitive_variables("client")
def _check_key(
    client: Any, exchange_id: str, *, trade_only_confirmed: bool
) -> tuple[KeyCheck, list[str]]:
    """Ask the exchange, apply the owner's confirmation where the exchange cannot tell,
    then the policy. Raises KeyRefused or ExchangeUnavailable."""
    check = inspect_key(client, exchange_id)
    if check.can_withdraw is None:
        check = replace(check, trade_only_confirmed=trade_only_confirmed)
    warnings = enforce_policy(
        check,
        exchange_id=exchange_id,
        require_ip_restriction=settings.REQUIRE_IP_RESTRICTION,
    )
    return check, warnings


def _confirmed(credential: ExchangeCredential) -> bool:
    return bool((credential.permissions or {}).get("trade_only_confirmed"))


# What _apply_check writes (for save(update_fields=...)).
CHECK_FIELDS = (
    "permissions",
    "permissions_verified",
    "ip_restricted",
    "expires_at",
    "last_verified_at",
)


def _apply_check(credential: ExchangeCredential, check: KeyCheck) -> None:
    credential.permissions = check.as_json()
    credential.permissions_verified = check.verified
    credential.ip_restricted = check.ip_restricted
    credential.expires_at = check.expires_at
    credential.last_verified_at = timezone.now()


@sensitive_variables("api_key", "secret", "passphrase", "uid", "key")
def credential_link(
    *,
    meta: RequestMeta | None,
    user: User,
    exchange_id: str,
    label: str,
    api_key: str,
    secret: str,
    passphrase: str = "",
    uid: str = "",
    trade_only_confirmed: bool = False,
) -> LinkResult:
    """Verify a key with its exchange, then store it sealed.

    Nothing is stored unless the key authenticates and passes the policy
    (no withdrawals, spot trading allowed, IP restriction if required; where
    the exchange cannot tell whether the key can withdraw, the owner's
    ``trade_only_confirmed``). Raises KeyRefused or ExchangeUnavailable with a
    message for the user.
    """
    if not has_two_factor(user):
        raise KeyRefused("Turn on two-factor authentication before linking an exchange key.")
    if not exchange_info(exchange_id).supported:
        raise KeyRefused("OneClick cannot check keys of this exchange, so it cannot link them.")
    key = KeyMaterial(api_key=api_key, secret=secret, password=passphrase, uid=uid)
    try:
        check, warnings = _check_key(
            build_client(exchange_id, key), exchange_id, trade_only_confirmed=trade_only_confirmed
        )
    except (KeyRefused, ExchangeUnavailable) as exc:
        record_event(
            user=user, kind=Kind.KEY_LINK_REFUSED, meta=meta,
            exchange=exchange_id, reason=str(exc)[:200],
        )  # fmt: skip
        raise
    with transaction.atomic():
        credential = ExchangeCredential(
            owner=user,
            exchange_id=exchange_id,
            label=label,
            api_key=api_key,
            secret=secret,
            passphrase=passphrase or None,
            uid=uid or None,
            api_key_masked=mask_key(api_key),
        )
        _apply_check(credential, check)
        credential.save()
        CredentialUse.objects.create(credential=credential, purpose=CredentialUse.Purpose.VERIFY)
        record_event(
            user=user, kind=Kind.KEY_LINKED, meta=meta,
            credential=str(credential.pk), exchange=exchange_id, warnings=warnings,
        )  # fmt: skip
    return LinkResult(credential=credential, warnings=warnings)


def _set_status(
    credential: ExchangeCredential, status: str, reason: str, *, extra: dict[str, Any] | None = None
) -> None:
    # A conditional UPDATE: a concurrent kill switch is never overwritten by a stale save.
    ExchangeCredential.objects.filter(pk=credential.pk).exclude(status=Status.DELETED).update(
        status=status, status_reason=reason, updated_at=timezone.now(), **(extra or {})
    )
    credential.status, credential.status_reason = status, reason


def credential_disable(*, meta: RequestMeta | None, credential: ExchangeCredential) -> None:
    """Stop all use of the key at once (bots stop before their next order)."""
    _set_status(credential, Status.DISABLED, "Disabled by you")
    record_event(
        user=credential.owner,
        kind=Kind.KEY_DISABLED,
        meta=meta,
        credential=str(credential.pk),
    )


def credential_enable(*, meta: RequestMeta | None, credential: ExchangeCredential) -> list[str]:
    """Re-verify the key with its exchange, then make it active again.

    Raises KeyRefused or ExchangeUnavailable (the key stays as it was).
    """
    check, warnings = _check_key(
        client_for(credential, purpose=CredentialUse.Purpose.VERIFY, allow_inactive=True),
        credential.exchange_id,
        trade_only_confirmed=_confirmed(credential),
    )
    with transaction.atomic():
        _apply_check(credential, check)
        credential.status, credential.status_reason = Status.ACTIVE, ""
        credential.save(update_fields=[*CHECK_FIELDS, "status", "status_reason", "updated_at"])
        record_event(
            user=credential.owner, kind=Kind.KEY_ENABLED, meta=meta,
            credential=str(credential.pk),
        )  # fmt: skip
    return warnings


def credential_delete(*, meta: RequestMeta | None, credential: ExchangeCredential) -> None:
    """Erase the sealed secrets for good; the row stays for the history it explains."""
    with transaction.atomic():
        credential.api_key = None
        credential.secret = None
        credential.passphrase = None
        credential.uid = None
        credential.status = Status.DELETED
        credential.status_reason = "Deleted by you"
        credential.deleted_at = timezone.now()
        credential.save()
        record_event(
            user=credential.owner, kind=Kind.KEY_DELETED, meta=meta,
            credential=str(credential.pk),
        )  # fmt: skip


def credential_mark_invalid(credential: ExchangeCredential, *, reason: str) -> None:
    """The key stopped working: stop using it and tell the owner."""
    with transaction.atomic():
        _set_status(credential, Status.INVALID, reason)
        record_event(
            user=credential.owner,
            kind=Kind.KEY_INVALID,
            credential=str(credential.pk),
            reason=reason,
        )
        alert_owner(credential, kind=Kind.KEY_INVALID)


@sensitive_variables("key")
def client_for(
    credential: ExchangeCredential, *, purpose: str, detail: str = "", allow_inactive: bool = False
) -> Any:
    """Open the credential's secrets and build its exchange client.

    Records the use. Raises CredentialUnusable when the credential is not
    active (unless re-enabling) or its secrets do not decrypt, in which case
    it is marked invalid and the owner alerted; ciphertext never leaves here.
    """
    current = ExchangeCredential.objects.get(pk=credential.pk)  # the kill switch wins
    if current.status == Status.DELETED or (not allow_inactive and current.status != Status.ACTIVE):
        raise CredentialUnusable(f"This key is {current.get_status_display().lower()}.")
    key = _key_material(current)
    if key is None:
        raise CredentialUnusable(UNDECRYPTABLE)
    CredentialUse.objects.create(credential=current, purpose=purpose, detail=detail[:200])
    return build_client(current.exchange_id, key)


UNDECRYPTABLE = "The stored secret of this key could not be decrypted."


@sensitive_variables("key")
def _key_material(credential: ExchangeCredential) -> KeyMaterial | None:
    """The credential's decrypted key, or None when the vault keys cannot open it
    (then the credential is marked invalid and its owner alerted)."""
    try:
        key = KeyMaterial(
            api_key=credential.api_key or "",
            secret=credential.secret or "",
            password=credential.passphrase or "",
            uid=credential.uid or "",
        )
    except VaultDecryptionError:
        logger.error("Credential %s cannot be decrypted with the vault keys", credential.pk)
        credential_mark_invalid(
            credential, reason="Its stored secret could not be decrypted. Link the key again."
        )
        return None
    return key


@sensitive_variables("key", "clients")
def clients_for(
    credentials: Sequence[ExchangeCredential], *, purpose: str, detail: str = ""
) -> tuple[dict[Any, Callable[[], Any]], dict[Any, str]]:
    """``client_for`` for many credentials at once (a batch of bots): one read of their
    current rows, one insert of their uses. Returns (by credential id, a function that
    builds its client, so the caller builds it where it is used; by credential id, why
    not for those that cannot be used); ciphertext never leaves here."""
    current = ExchangeCredential.objects.filter(pk__in=[c.pk for c in credentials])
    clients: dict[Any, Callable[[], Any]] = {}
    refused: dict[Any, str] = {}
    uses = []
    for credential in current:  # the kill switch wins: the rows as they are now
        if credential.status != Status.ACTIVE:
            refused[credential.pk] = f"This key is {credential.get_status_display().lower()}."
            continue
        key = _key_material(credential)
        if key is None:
            refused[credential.pk] = UNDECRYPTABLE
            continue
        uses.append(CredentialUse(credential=credential, purpose=purpose, detail=detail[:200]))
        clients[credential.pk] = functools.partial(build_client, credential.exchange_id, key)
    CredentialUse.objects.bulk_create(uses)
    return clients, refused


def credential_recheck(credential: ExchangeCredential) -> str:
    """Scheduled re-check: catch revoked keys, changed permissions and expiry early.

    Returns what was found ("ok", "changed", "invalid", "expiring", "unreachable").
    """
    try:
        client = client_for(credential, purpose=CredentialUse.Purpose.RECHECK)
    except CredentialUnusable:
        return "invalid"
    try:
        check = inspect_key(client, credential.exchange_id)
    except ExchangeUnavailable:
        return "unreachable"  # try again at the next run; do not punish an outage
    except KeyRefused as exc:
        credential_mark_invalid(credential, reason=str(exc)[:300])
        return "invalid"
    if check.can_withdraw is None:
        check = replace(check, trade_only_confirmed=_confirmed(credential))
    before = credential.permissions
    try:
        enforce_policy(
            check,
            exchange_id=credential.exchange_id,
            require_ip_restriction=settings.REQUIRE_IP_RESTRICTION,
        )
    except KeyRefused as exc:
        with transaction.atomic():
            _apply_check(credential, check)
            credential.save(update_fields=CHECK_FIELDS)
            credential_mark_invalid(credential, reason=str(exc)[:300])
        return "invalid"
    result = "ok"
    with transaction.atomic():
        _apply_check(credential, check)
        credential.save(update_fields=CHECK_FIELDS)
        if _permissions_differ(before, credential.permissions):
            record_event(
                user=credential.owner,
                kind=Kind.KEY_PERMISSIONS_CHANGED,
                credential=str(credential.pk),
            )
            alert_owner(credential, kind=Kind.KEY_PERMISSIONS_CHANGED)
            result = "changed"
        expires_at = check.expires_at
        expiring = expires_at is not None and expires_at - timezone.now() < dt.timedelta(
            days=settings.KEY_EXPIRY_WARNING_DAYS
        )
        if expires_at is not None and expiring and credential.expiry_warned_for != expires_at:
            ExchangeCredential.objects.filter(pk=credential.pk).update(
                expiry_warned_for=check.expires_at
            )
            record_event(
                user=credential.owner,
                kind=Kind.KEY_EXPIRING,
                credential=str(credential.pk),
                expires_at=expires_at.isoformat(),
            )
            alert_owner(credential, kind=Kind.KEY_EXPIRING)
            result = "expiring"
    return result


def _permissions_differ(before: dict[str, Any], after: dict[str, Any]) -> bool:
    keys = ("can_trade", "can_withdraw", "ip_restricted", "verified")
    return any(before.get(k) != after.get(k) for k in keys)
