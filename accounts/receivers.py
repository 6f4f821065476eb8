"""Signal receivers: turn auth and allauth signals into security events."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import (
    email_added,
    email_changed,
    email_confirmed,
    email_removed,
    password_changed,
    password_reset,
    user_signed_up,
)
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django_q.tasks import async_task

from accounts.events import record_event
from accounts.models import SecurityEvent, User
from accounts.otp import note_code_owed


@receiver(user_signed_up)
def on_signed_up(request: HttpRequest, user: User, **kwargs: Any) -> None:
    record_event(user=user, kind=SecurityEvent.Kind.SIGNUP, request=request)


@receiver(email_confirmed)
def on_email_confirmed(request: HttpRequest, email_address: EmailAddress, **kwargs: Any) -> None:
    user = email_address.user
    record_event(user=user, kind=SecurityEvent.Kind.EMAIL_CONFIRMED, request=request)
    transaction.on_commit(lambda: async_task("accounts.tasks.send_ip_whitelist", user.pk))


@receiver(email_added)
def on_email_added(
    request: HttpRequest, user: User, email_address: EmailAddress, **kwargs: Any
) -> None:
    record_event(
        user=user, kind=SecurityEvent.Kind.EMAIL_ADDED, request=request, email=email_address.email
    )


@receiver(email_removed)
def on_email_removed(
    request: HttpRequest, user: User, email_address: EmailAddress, **kwargs: Any
) -> None:
    record_event(
        user=user, kind=SecurityEvent.Kind.EMAIL_REMOVED, request=request, email=email_address.email
    )


@receiver(email_changed)
def on_primary_email_changed(
    request: HttpRequest,
    user: User,
    from_email_address: EmailAddress | None,
    to_email_address: EmailAddress,
    **kwargs: Any,
) -> None:
    record_event(
        user=user,
        kind=SecurityEvent.Kind.EMAIL_PRIMARY_CHANGED,
        request=request,
        old=from_email_address.email if from_email_address else "",
        new=to_email_address.email,
    )


@receiver(user_logged_in)
def on_logged_in(request: HttpRequest, user: User, **kwargs: Any) -> None:
    note_code_owed(request, user)
    record_event(user=user, kind=SecurityEvent.Kind.LOGIN, request=request)


@receiver(user_logged_out)
def on_logged_out(request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        record_event(user=user, kind=SecurityEvent.Kind.LOGOUT, request=request)


@receiver(user_login_failed)
def on_login_failed(
    credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already masked the password in `credentials`; keep only the email.
    email = str(credentials.get("email") or credentials.get("username") or "")[:254]
    user = get_user_model().objects.filter(email__iexact=email).first() if email else None
    record_event(user=user, kind=SecurityEvent.Kind.LOGIN_FAILED, request=request, email=email)


@receiver(password_changed)
def on_password_changed(request: HttpRequest, user: User, **kwargs: Any) -> None:
    record_event(user=user, kind=SecurityEvent.Kind.PASSWORD_CHANGED, request=request)


@receiver(password_reset)
def on_password_reset(request: HttpRequest, user: User, **kwargs: Any) -> None:
    record_event(user=user, kind=SecurityEvent.Kind.PASSWORD_RESET, request=request)
