from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from trading.health import with_health
from trading.models import Bot, Decision, Order


def bots_of(user: User) -> QuerySet[Bot]:
    """The user's bots, with what their status needs (trading/health.py)."""
    return with_health(Bot.objects.filter(owner=user))


def bot_of(user: User, bot_id: object) -> Bot:
    """The user's own bot; anyone else's id is a 404."""
    return get_object_or_404(bots_of(user), pk=bot_id)


def decisions_of(bot: Bot) -> QuerySet[Decision]:
    return bot.decisions.select_related("signal", "order")


def orders_of(bot: Bot) -> QuerySet[Order]:
    return bot.orders.all()


def order_of(user: User, order_id: object) -> Order:
    return get_object_or_404(
        Order.objects.filter(bot__owner=user).select_related("bot"), pk=order_id
    )


def decision_of(user: User, decision_id: object) -> Decision:
    return get_object_or_404(
        Decision.objects.filter(bot__owner=user).select_related("bot", "signal"), pk=decision_id
    )
