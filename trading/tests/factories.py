from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from oneclick.tests.typed_factory import ModelFactory
from strategies.tests.factories import StrategyFactory
from trading.models import Bot, Fill, Order
from vault.tests.factories import CredentialFactory


class BotFactory(ModelFactory[Bot]):
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


class OrderFactory(ModelFactory[Order]):
    """A filled market order of a bot (no exchange is asked)."""

    class Meta:
        model = Order

    bot = factory.SubFactory(BotFactory)
    credential = factory.LazyAttribute(lambda o: o.bot.credential)
    exchange_id = "paper"
    market = "BTC/USDT"
    side = "buy"
    amount = Decimal("0.01")
    price = Decimal("60000")
    client_order_id = factory.Sequence(lambda n: f"oc-test-{n:08d}")
    exchange_order_id = factory.Sequence(lambda n: f"ex-{n:08d}")
    status = Order.Status.CLOSED
    filled = factory.LazyAttribute(lambda o: o.amount)
    average = factory.LazyAttribute(lambda o: o.price)
    cost = factory.LazyAttribute(lambda o: o.amount * o.price)


class FillFactory(ModelFactory[Fill]):
    class Meta:
        model = Fill

    order = factory.SubFactory(OrderFactory)
    bot = factory.LazyAttribute(lambda o: o.order.bot)
    credential = factory.LazyAttribute(lambda o: o.order.credential)
    trade_id = factory.Sequence(lambda n: f"t-{n:09d}")
    amount = factory.LazyAttribute(lambda o: o.order.amount)
    price = factory.LazyAttribute(lambda o: o.order.price)
    fee = Decimal("0.6")
    fee_currency = "USDT"
    taken_at = factory.LazyFunction(timezone.now)
