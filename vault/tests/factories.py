from __future__ import annotations

import factory

from accounts.tests.factories import UserFactory
from oneclick.tests.typed_factory import ModelFactory
from vault.models import ExchangeCredential, mask_key


class CredentialFactory(ModelFactory[ExchangeCredential]):
    """A stored credential, as if linked (no exchange is asked)."""

    class Meta:
        model = ExchangeCredential

    owner = factory.SubFactory(UserFactory)
    exchange_id = "paper"
    label = factory.Sequence(lambda n: f"Key {n}")
    api_key = factory.Sequence(lambda n: f"paper-key-{n:04d}-ABCDEFGH")
    secret = factory.Sequence(lambda n: f"paper-secret-{n:04d}-0123456789")
    api_key_masked = factory.LazyAttribute(lambda o: mask_key(o.api_key))
    permissions = factory.LazyFunction(
        lambda: {"verified": True, "can_trade": True, "can_withdraw": False, "ip_restricted": True}
    )
    permissions_verified = True
    ip_restricted = True
