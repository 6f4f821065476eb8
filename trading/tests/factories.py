from __future__ import annotations

from decimal import Decimal

import factory

from accounts.tests.factories import UserFactory
from strategies.tests.factories import StrategyFactory
from trading.models import Bot
from vault.tests.factories import CredentialFactory


class BotFactory(factory.django.DjangoModelFactory):
    """A running bot on a paper account (its paper account opens on first use)."""

    class Meta:
        model = Bot

    owner = factory.SubFactory(UserFactory)
    credential = factory.LazyAttribute(lambda o: CredentialFactory(owner=o.owner))
    strategy = factory.SubFactory(StrategyFactory, markets=["BTC/USDT", "ETH/USDT"])
    name = factory.Sequence(lambda n: f"Bot {n}")
    markets = factory.LazyFunction(lambda: ["BTC/USDT"])
    quote_currency = "USDT"
    allocation = Decimal("1000")
    cash = factory.LazyAttribute(lambda o: o.allocation)
    equity = factory.LazyAttribute(lambda o: o.allocation)
    peak_equity = factory.LazyAttribute(lambda o: o.allocation)
