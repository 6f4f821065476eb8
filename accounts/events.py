"""The security event log: every security-relevant action, append-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import get_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest

from accounts.models import SecurityEvent, User


def client_ip(request: HttpRequest | None) -> str | None:
    """The address allauth's rate limits count (X-Forwarded-For behind trusted
    proxies, see ALLAUTH_TRUSTED_PROXY_COUNT), so the log names the same client."""
    if request is None:
        return None
    try:
        return get_adapter(request).get_client_ip(request)
    except (PermissionDenied, ImproperlyConfigured):  # no usable address: log the peer
        return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class RequestMeta:
    """Where an action came from, as the security log keeps it. Views build it from
    the request and hand it to services, so services never depend on the web."""

    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def of(cls, request: HttpRequest | None) -> RequestMeta | None:
        if request is None:
            return None
        return cls(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])


def record_event(
    *,
    user: User | None,
    kind: SecurityEvent.Kind,
    request: HttpRequest | None = None,
    meta: RequestMeta | None = None,
    **detail: Any,
) -> SecurityEvent:
    """Append one event. ``detail`` must never hold a secret.

    Services pass ``meta``; request-bound code (allauth receivers, the OTP check) may
    pass the ``request`` itself.
    """
    meta = meta or RequestMeta.of(request) or RequestMeta()
    return SecurityEvent.objects.create(
        user=user,
        kind=kind,
        ip=meta.ip,
        user_agent=meta.user_agent,
        detail=detail,
    )
