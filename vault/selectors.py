from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from vault.models import ExchangeCredential


def credentials_of(user: User) -> QuerySet[ExchangeCredential]:
    return ExchangeCredential.objects.filter(owner=user).exclude(
        status=ExchangeCredential.Status.DELETED
    )


def credential_of(user: User, credential_id: object) -> ExchangeCredential:
    """The user's own, not deleted credential; anything else is a 404."""
    return get_object_or_404(credentials_of(user), pk=credential_id)
