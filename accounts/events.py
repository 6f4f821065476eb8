"""The security event log: every security-relevant action, append-only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import SecurityEvent, User


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_event(
    *,
    user: User | None,
    kind: SecurityEvent.Kind,
    request: HttpRequest | None = None,
    **detail: Any,
) -> SecurityEvent:
    """Append one event. ``detail`` must never hold a secret."""
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:300] if request else ""
    return SecurityEvent.objects.create(
        user=user,
        kind=kind,
        ip=client_ip(request),
        user_agent=user_agent,
        detail=detail,
    )
