from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar, cast

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django_otp.models import Device, TimestampMixin

from accounts.totp import totp_time_step
from sealed.fields import SealedFieldsMixin, VaultField


class UserManager(DjangoUserManager):
    """People sign in with their email address; there is no username."""

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = cast(User, self.model(email=self.normalize_email(email), **extra))
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:  # type: ignore[override]
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:  # type: ignore[override]
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    # IANA name ("Europe/Berlin"); blank: the browser's zone, else UTC (accounts.timezones).
    time_zone = models.CharField(max_length=64, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # Set on each request's user by django_otp's OTPMiddleware: True once this
    # session entered a one-time code.
    is_verified: Callable[[], bool]

    objects = UserManager()  # type: ignore[misc]

    def __str__(self) -> str:
        return self.email


class SecurityEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Security events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Security events are append-only")


class SecurityEvent(models.Model):
    """One security-relevant action: written once, never changed or removed."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", "Account created"
        EMAIL_CONFIRMED = "email_confirmed", "Email address verified"
        EMAIL_ADDED = "email_added", "Email address added"
        EMAIL_REMOVED = "email_removed", "Email address removed"
        EMAIL_PRIMARY_CHANGED = "email_primary_changed", "Primary email address changed"
        LOGIN = "login", "Signed in with password"
        LOGIN_FAILED = "login_failed", "Failed sign-in"
        LOGOUT = "logout", "Signed out"
        OTP_VERIFIED = "otp_verified", "One-time code accepted"
        OTP_FAILED = "otp_failed", "Wrong one-time code"
        OTP_THROTTLED = "otp_throttled", "Too many wrong one-time codes"
        STEPUP = "stepup", "Confirmed a sensitive action with a one-time code"
        TWOFA_ENABLED = "2fa_enabled", "Two-factor authentication turned on"
        TWOFA_DISABLED = "2fa_disabled", "Two-factor authentication turned off"
        TWOFA_REPLACED = "2fa_replaced", "Authenticator app replaced"
        BACKUP_CODE_USED = "backup_code_used", "Backup code used"
        BACKUP_CODES_REGENERATED = "backup_codes_regenerated", "New backup codes made"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset by email"
        SECRET_UNREADABLE = "secret_unreadable", "A stored secret could not be decrypted"
        KEY_LINKED = "key_linked", "Exchange key linked"
        KEY_LINK_REFUSED = "key_link_refused", "Exchange key refused"
        KEY_DISABLED = "key_disabled", "Exchange key disabled"
        KEY_ENABLED = "key_enabled", "Exchange key re-enabled"
        KEY_DELETED = "key_deleted", "Exchange key deleted"
        KEY_INVALID = "key_invalid", "Exchange key stopped working"
        KEY_PERMISSIONS_CHANGED = "key_permissions_changed", "Exchange key permissions changed"
        KEY_EXPIRING = "key_expiring", "Exchange key expires soon"
        TELEGRAM_LINKED = "telegram_linked", "Telegram linked"
        TELEGRAM_UNLINKED = "telegram_unlinked", "Telegram unlinked"
        BOT_CREATED = "bot_created", "Bot created"
        BOT_PAUSED = "bot_paused", "Bot paused"
        BOT_RESUMED = "bot_resumed", "Bot resumed"
        BOT_STOPPED = "bot_stopped", "Bot stopped"
        BOT_ALLOCATION_CHANGED = "bot_allocation_changed", "Bot allocation changed"
        ACTIVITY_ALERT = "activity_alert", "Irregular trading activity"
        BOTS_PAUSED_BY_STAFF = "bots_paused_by_staff", "Staff paused bots"

    user = models.ForeignKey(
        User,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="security_events",
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = SecurityEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Security events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Security events are append-only")


class TOTPDevice(SealedFieldsMixin, TimestampMixin, Device):
    """An authenticator app (RFC 6238) whose shared secret is encrypted at rest.

    django-otp's own TOTPDevice keeps the secret in clear text.
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = VaultField(bind=("user_id", "uid"), help_text="Hex-encoded shared secret")
    step = models.PositiveSmallIntegerField(default=30)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    # The last time step whose code was accepted; a code is accepted only for a
    # later step, which is what makes each code single-use.
    last_t = models.BigIntegerField(default=-1)

    class Meta:
        verbose_name = "authenticator app"

    def verify_token(self, token: Any) -> bool:
        step = totp_time_step(self, str(token))
        if step is None:
            return False
        # A conditional UPDATE, so two processes given the same code cannot
        # both accept it.
        accepted = TOTPDevice.objects.filter(pk=self.pk, last_t__lt=step).update(last_t=step)
        if accepted:
            self.last_t = step
            self.set_last_used_timestamp(commit=True)
        return bool(accepted)


class BackupCodeDevice(Device):
    """The set of single-use backup codes of one user (stored as hashes)."""

    class Meta:
        verbose_name = "backup code set"

    def verify_token(self, token: Any) -> bool:
        # A cycle: accounts.backup_codes imports these models.
        from accounts.backup_codes import use_backup_code

        return use_backup_code(device=self, code=str(token))


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backup code #{self.pk}"


class TelegramLink(models.Model):
    """The Telegram chat a user receives alerts in."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="telegram")
    chat_id = models.BigIntegerField()
    username = models.CharField(max_length=64, blank=True)
    linked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Telegram chat of {self.user}"


class TelegramLinkToken(models.Model):
    """A one-time token in a Telegram deep link; only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="telegram_tokens")
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Telegram link token of {self.user}"


class TryCount(models.Model):
    """A count of tries within a time window, for hosts whose cache is not Redis.

    Django's database cache increments with a read and then a write, so two
    processes can both read the same count; this row is incremented in one UPDATE.
    """

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
