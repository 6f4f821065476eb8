from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from sealed.fields import SealedFieldsMixin, VaultField


class VaultSentinel(SealedFieldsMixin, models.Model):
    """A known value sealed under the vault keys, opened at every start-up.

    If it no longer opens, the configured keys are not the ones the data was
    written with: better to refuse to start than to fail on every secret later.
    """

    name = models.CharField(max_length=50, unique=True)
    value = VaultField(bind=("name",))

    def __str__(self) -> str:
        return self.name


def mask_key(api_key: str) -> str:
    """``AbCd…9xYz``: enough to recognise a key, never enough to use it."""
    if len(api_key) < 12:
        return "…" + api_key[-2:] if len(api_key) > 4 else "…"
    return f"{api_key[:4]}…{api_key[-4:]}"


class ExchangeCredential(SealedFieldsMixin, models.Model):
    """A user's API key on an exchange. Secrets are sealed, bound to owner and row."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        INVALID = "invalid", "Not working"
        DELETED = "deleted", "Deleted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credentials"
    )
    exchange_id = models.CharField(max_length=40)
    label = models.CharField(max_length=80)
    api_key = VaultField(bind=("owner_id", "id"), null=True)
    secret = VaultField(bind=("owner_id", "id"), null=True)
    passphrase = VaultField(bind=("owner_id", "id"), null=True, blank=True)
    uid = VaultField(bind=("owner_id", "id"), null=True, blank=True)
    # Kept beside the sealed key so listing credentials never opens a secret.
    api_key_masked = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=300, blank=True)
    permissions = models.JSONField(default=dict, blank=True)
    permissions_verified = models.BooleanField(default=False)
    ip_restricted = models.BooleanField(null=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The expiry date the owner was last warned about: one warning per expiry.
    expiry_warned_for = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"{self.label} ({self.exchange_id} {self.api_key_masked})"

    def __repr__(self) -> str:
        return (
            f"<ExchangeCredential {self.pk} {self.exchange_id} {self.api_key_masked} {self.status}>"
        )

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class CredentialUse(models.Model):
    """Each time a credential's secret was opened: when and why. Shown to its owner."""

    class Purpose(models.TextChoices):
        VERIFY = "verify", "Checked the key's permissions"
        RECHECK = "recheck", "Scheduled permission check"
        TRADE = "trade", "Placed or managed an order"
        SYNC = "sync", "Read balances and trades"

    credential = models.ForeignKey(
        ExchangeCredential, on_delete=models.CASCADE, related_name="uses"
    )
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} at {self.created_at:%Y-%m-%d %H:%M}"
