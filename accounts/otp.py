"""Checking one-time codes: throttled by an atomic count of tries, each code once.

Codes go through ``django_otp.verify_token`` (row-locked where the database
can), and each device accepts a code with a conditional UPDATE, so a code is
accepted once across every process.
"""

from __future__ import annotations

import logging

import django_otp
from django.conf import settings
from django.http import HttpRequest
from django_otp.models import Device

from accounts import try_counts
from accounts.backup_codes import looks_like_backup_code
from accounts.events import record_event
from accounts.models import BackupCodeDevice, SecurityEvent, TOTPDevice, User
from sealed.crypto import VaultDecryptionError

logger = logging.getLogger(__name__)


class OTPThrottled(Exception):
    """Too many wrong codes lately; the user must wait."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many wrong codes. Wait {minutes} minute{'s' if minutes != 1 else ''} "
            "and try again."
        )


def _failure_key(user: User) -> str:
    return f"otp-failures:{user.pk}"


# Set on a session that signed in with a password while two-factor was on.
CODE_OWED_SESSION_KEY = "oneclick_code_owed"


def has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def check_not_throttled(user: User) -> None:
    if try_counts.tries(_failure_key(user)) >= settings.OTP_THROTTLE_LIMIT:
        raise OTPThrottled(settings.OTP_THROTTLE_WINDOW)


def _count_try(user: User) -> int:
    return try_counts.count_try(_failure_key(user), window=settings.OTP_THROTTLE_WINDOW)


def note_code_owed(request: HttpRequest | None, user: User) -> None:
    """At a password login: whether this session still owes a one-time code.

    Such a session knows only the password. If two-factor is turned off
    elsewhere before it enters a code, it is signed out
    (``accounts.middleware``), never promoted to a full login.
    """
    session = getattr(request, "session", None)
    if session is not None:
        session[CODE_OWED_SESSION_KEY] = has_two_factor(user)


def mark_session_verified(request: HttpRequest, device: Device) -> None:
    """Record the accepted device on the session and give the session a new id.

    A privilege step: an id that leaked while the session knew only the
    password (or was planted before it) must not become a signed-in one.
    """
    django_otp.login(request, device)
    request.session.pop(CODE_OWED_SESSION_KEY, None)
    request.session.cycle_key()


def _candidate_devices(user: User, code: str) -> list:
    if looks_like_backup_code(code):
        return list(BackupCodeDevice.objects.filter(user=user, confirmed=True))
    return list(TOTPDevice.objects.filter(user=user, confirmed=True))


def verify_otp(*, request: HttpRequest, user: User, code: str, purpose: str) -> bool:
    """Check a TOTP or backup code for ``user``.

    Every try counts against the shared throttle before its code is checked; on
    success the count is cleared, the session marked OTP-verified (django-otp)
    and the event logged; on failure the event is logged. Raises OTPThrottled,
    without checking the code, once the counter is full.
    """
    check_not_throttled(user)
    # Counted before the code is checked: codes sent at once would all pass a check
    # made before any of them had failed. A right code clears the count again.
    tries = _count_try(user)
    if tries > settings.OTP_THROTTLE_LIMIT:
        raise OTPThrottled(settings.OTP_THROTTLE_WINDOW)
    code = code.strip()
    for device in _candidate_devices(user, code):
        try:
            verified = django_otp.verify_token(user, device.persistent_id, code)
        except VaultDecryptionError:
            logger.error("OTP device %s of user %s cannot be decrypted", device.pk, user.pk)
            record_event(user=user, kind=SecurityEvent.Kind.SECRET_UNREADABLE, request=request)
            continue
        if verified is not None:
            try_counts.clear(_failure_key(user))
            mark_session_verified(request, verified)
            kind = (
                SecurityEvent.Kind.BACKUP_CODE_USED
                if isinstance(verified, BackupCodeDevice)
                else SecurityEvent.Kind.OTP_VERIFIED
            )
            record_event(user=user, kind=kind, request=request, purpose=purpose)
            return True
    record_event(user=user, kind=SecurityEvent.Kind.OTP_FAILED, request=request, purpose=purpose)
    if tries == settings.OTP_THROTTLE_LIMIT:
        record_event(user=user, kind=SecurityEvent.Kind.OTP_THROTTLED, request=request)
    return False
