"""TOTP (RFC 6238) codes for the encrypted authenticator-app device."""

from __future__ import annotations

import hmac
import secrets
import time
from base64 import b32encode
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from django.conf import settings
from django_otp.oath import TOTP

if TYPE_CHECKING:
    from accounts.models import TOTPDevice


def new_totp_key() -> str:
    """A fresh 160-bit shared secret, hex encoded (RFC 4226 recommends 160)."""
    return secrets.token_hex(20)


def base32_secret(hex_key: str) -> str:
    return b32encode(bytes.fromhex(hex_key)).decode()


def totp_time_step(device: TOTPDevice, token: str, *, now: float | None = None) -> int | None:
    """The time step whose code equals ``token``, within the device's tolerance."""
    token = token.strip().replace(" ", "")
    # isdigit() alone would let full-width and other Unicode digits through.
    if len(token) != device.digits or not (token.isascii() and token.isdigit()):
        return None
    totp = TOTP(bytes.fromhex(device.key), device.step, 0, device.digits, 0)
    totp.time = time.time() if now is None else now
    for drift in range(-device.tolerance, device.tolerance + 1):
        totp.drift = drift
        expected = f"{totp.token():0{device.digits}d}"
        if hmac.compare_digest(expected, token):
            return totp.t()
    return None


def totp_code(hex_key: str, *, now: float | None = None, step: int = 30, digits: int = 6) -> str:
    """The current code for a key, as an authenticator app would show it."""
    totp = TOTP(bytes.fromhex(hex_key), step, 0, digits, 0)
    totp.time = time.time() if now is None else now
    return f"{totp.token():0{digits}d}"


def provisioning_uri(*, hex_key: str, account: str) -> str:
    issuer = getattr(settings, "OTP_TOTP_ISSUER", "OneClick")
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {"secret": base32_secret(hex_key), "issuer": issuer, "digits": 6, "period": 30}
    )
    return f"otpauth://totp/{label}?{query}"
