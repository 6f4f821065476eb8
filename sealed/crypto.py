"""Authenticated encryption of secrets under the vault keys.

Each ciphertext is bound to a *context* (model, field, owner, row): the Fernet
key that seals it is derived from the vault key and that context with HKDF, so
a ciphertext copied into another row or another user's row does not open.
``settings.VAULT_KEYS`` lists Fernet keys: the first seals, all open (rotation).
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class VaultDecryptionError(Exception):
    """A sealed secret did not open: wrong key, or ciphertext not from this row."""


def _master_keys() -> tuple[bytes, ...]:
    configured = [k.strip() for k in settings.VAULT_KEYS if k.strip()]
    if not configured:
        raise ImproperlyConfigured("VAULT_KEYS is empty.")
    keys = []
    for position, key in enumerate(configured, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"VAULT_KEYS entry {position} is not a Fernet key (32 url-safe base64 bytes)."
            )
        keys.append(raw)
    return tuple(keys)


@lru_cache(maxsize=4096)
def _fernet_for(keys: tuple[bytes, ...], context: str) -> MultiFernet:
    derived = []
    for key in keys:
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"oneclick-vault-v1",
            info=context.encode(),
        )
        derived.append(Fernet(base64.urlsafe_b64encode(hkdf.derive(key))))
    return MultiFernet(derived)


def _fernet(context: str) -> MultiFernet:
    return _fernet_for(_master_keys(), context)


def seal(plaintext: str, *, context: str) -> str:
    """Encrypt ``plaintext`` under the first vault key, bound to ``context``."""
    return _fernet(context).encrypt(plaintext.encode()).decode()


def unseal(token: str, *, context: str) -> str:
    """Decrypt a sealed value; raise VaultDecryptionError, never return ciphertext."""
    try:
        return _fernet(context).decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise VaultDecryptionError(
            "A stored secret could not be decrypted with the configured vault keys."
        ) from exc


def reseal(token: str, *, context: str) -> str:
    """Re-encrypt a sealed value under the first vault key (key rotation)."""
    try:
        return _fernet(context).rotate(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise VaultDecryptionError(
            "A stored secret could not be decrypted with the configured vault keys."
        ) from exc


def is_sealed_by_primary(token: str, *, context: str) -> bool:
    """True when ``token`` already opens with the first vault key alone."""
    first = _fernet_for(_master_keys()[:1], context)
    try:
        first.decrypt(token.encode())
    except (InvalidToken, ValueError):
        return False
    return True
