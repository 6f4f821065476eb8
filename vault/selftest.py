"""The start-up check that the vault keys are the ones the data was sealed with."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from vault.crypto import VaultDecryptionError
from vault.models import VaultSentinel

SENTINEL_NAME = "sentinel"
SENTINEL_TEXT = "oneclick-vault-sentinel"


def check_vault_keys() -> None:
    """Open the sentinel, writing it on first use.

    Raises ImproperlyConfigured when the configured keys cannot open it.
    """
    sentinel = VaultSentinel.objects.filter(name=SENTINEL_NAME).first()
    if sentinel is None:
        try:
            with transaction.atomic():
                VaultSentinel.objects.create(name=SENTINEL_NAME, value=SENTINEL_TEXT)
        except IntegrityError:
            pass  # another process wrote it first; open theirs below
        sentinel = VaultSentinel.objects.get(name=SENTINEL_NAME)
    try:
        opened = sentinel.value
    except VaultDecryptionError:
        opened = None
    if opened != SENTINEL_TEXT:
        raise ImproperlyConfigured(
            "VAULT_KEYS cannot decrypt data written earlier: the vault key is wrong "
            "or missing. Restore the previous key (keep it listed after a new one "
            "when rotating)."
        )
