"""Ed25519 signatures over signals, and the checks a bot makes before it acts.

The canonical payload is a versioned, sorted, compact JSON object of every
field that decides what a bot does (identity, market, action, sizes, period,
times, nonce, and the cost estimate that sets a target's rebalance band when
the signal carries one). Numbers are written as fixed-point strings and times as UTC with
microseconds, so the bytes are the same before and after a database round
trip on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import binascii
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

if TYPE_CHECKING:
    from strategies.models import Signal

PAYLOAD_PREFIX = b"oneclick.signal.v1\n"
SHARE_PLACES = Decimal("0.0001")
COST_PLACES = Decimal("0.000001")
# A signal stamped this far in the future still counts (clocks of two hosts differ).
CLOCK_SKEW = timedelta(seconds=60)


def generate_key_pair() -> tuple[str, str]:
    """A new (private, public) pair as hex of the raw 32-byte keys."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return raw_private.hex(), raw_public.hex()


def _utc(when: datetime) -> str:
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise ValueError("signal times must be aware datetimes")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _share(value: Decimal) -> str:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError("signal shares must be finite Decimals")
    return f"{value.quantize(SHARE_PLACES):f}"


def canonical_payload(signal: Signal) -> bytes:
    """The exact bytes that are signed. ValueError when a field cannot be written."""
    fields = {
        "id": str(signal.id),
        "strategy": signal.strategy.slug,
        "market": signal.market,
        "action": signal.action,
        "fraction": _share(signal.fraction),
        "confidence": _share(signal.confidence),
        "period": _utc(signal.period),
        "created_at": _utc(signal.created_at),
        "nonce": signal.nonce,
    }
    cost = getattr(signal, "cost", None)
    if cost is not None:
        # Only when set, so signals made before the field existed still verify.
        if not isinstance(cost, Decimal) or not cost.is_finite():
            raise ValueError("a signal's cost must be a finite Decimal")
        fields["cost"] = f"{cost.quantize(COST_PLACES):f}"
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return PAYLOAD_PREFIX + body.encode("ascii")


@sensitive_variables("private_hex", "private")
def sign_signal(signal: Signal) -> None:
    """Fill ``signal.signature`` with the strategy's private key (not saved here).

    Raises sealed.crypto.VaultDecryptionError if the private key does not open,
    ValueError for a field that cannot be signed.
    """
    payload = canonical_payload(signal)
    private_hex = signal.strategy.private_key
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    signal.signature = private.sign(payload).hex()


def verify_signal(signal: Signal, public_key: str) -> bool:
    """True only when ``signal`` carries a valid signature by ``public_key`` (hex).

    False, never an exception, for any tampered field, another key, a malformed
    key or signature, or a field that cannot be written canonically.
    """
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        signature = bytes.fromhex(signal.signature)
        if len(signature) != 64:
            return False
        key.verify(signature, canonical_payload(signal))
    except (InvalidSignature, ValueError, TypeError, AttributeError, binascii.Error):
        return False
    except ObjectDoesNotExist:  # no strategy row: nothing to check the payload against
        return False
    return True


def is_fresh(signal: Signal, *, now: datetime | None = None) -> bool:
    """Signed no longer than ``strategy.max_signal_age`` seconds ago (and not in the future)."""
    now = now or timezone.now()
    created = signal.created_at
    if not isinstance(created, datetime) or created.tzinfo is None:
        return False
    age = now - created
    return -CLOCK_SKEW <= age <= timedelta(seconds=signal.strategy.max_signal_age)
