"""Two-factor lifecycle: enrol, replace, disable, new backup codes."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from accounts.backup_codes import replace_backup_codes
from accounts.events import RequestMeta, record_event
from accounts.models import BackupCodeDevice, SecurityEvent, TOTPDevice, User
from accounts.totp import new_totp_key, totp_time_step


class TwoFactorError(Exception):
    """A 2FA change was refused; the message is fit to show the user."""


def notify_security_change(*, user: User, kind: SecurityEvent.Kind) -> None:
    """Email the user about a security change, after the transaction commits."""
    transaction.on_commit(
        lambda: async_task("accounts.tasks.send_security_notice", user.pk, str(kind))
    )


def totp_device_pending(*, user: User) -> TOTPDevice | None:
    """The unconfirmed authenticator of ``user``, if enrolment was started."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def totp_device_start(*, user: User) -> TOTPDevice:
    """Start enrolment: the pending authenticator, made with a new secret if none.

    Reusing it keeps the QR code stable across reloads of the enrolment page.
    Called on a POST only, so a GET (a link prefetch, a crawler, a forged
    image tag) never makes a secret.
    """
    device = totp_device_pending(user=user)
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="Authenticator app", confirmed=False, key=new_totp_key()
        )
    return device


@transaction.atomic
def totp_device_confirm(*, meta: RequestMeta | None, device: TOTPDevice, code: str) -> list[str]:
    """Confirm a pending authenticator with its first code.

    Replaces any earlier authenticator. Returns new backup codes on first
    enrolment (empty when replacing). The caller marks its session verified and fresh.
    Raises TwoFactorError on a wrong code.
    """
    user = device.user
    step = totp_time_step(device, code)
    if step is None:
        raise TwoFactorError("That code is not right. Check the time on your phone and try again.")
    replacing = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.last_t = step
    device.save(update_fields=["confirmed", "last_t"])
    codes: list[str] = []
    if replacing:
        kind = SecurityEvent.Kind.TWOFA_REPLACED
    else:
        kind = SecurityEvent.Kind.TWOFA_ENABLED
        codes = replace_backup_codes(user=user, count=settings.BACKUP_CODE_COUNT)
    record_event(user=user, kind=kind, meta=meta)
    notify_security_change(user=user, kind=kind)
    return codes


@transaction.atomic
def two_factor_disable(*, meta: RequestMeta | None, user: User) -> None:
    """Remove every OTP device of ``user``. The caller has checked a current code."""
    TOTPDevice.objects.filter(user=user).delete()
    BackupCodeDevice.objects.filter(user=user).delete()
    record_event(user=user, kind=SecurityEvent.Kind.TWOFA_DISABLED, meta=meta)
    notify_security_change(user=user, kind=SecurityEvent.Kind.TWOFA_DISABLED)


def backup_codes_regenerate(*, meta: RequestMeta | None, user: User) -> list[str]:
    """Replace the user's backup codes; the old ones stop working at once."""
    codes = replace_backup_codes(user=user, count=settings.BACKUP_CODE_COUNT)
    record_event(user=user, kind=SecurityEvent.Kind.BACKUP_CODES_REGENERATED, meta=meta)
    notify_security_change(user=user, kind=SecurityEvent.Kind.BACKUP_CODES_REGENERATED)
    return codes
