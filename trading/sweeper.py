"""Nothing lost: finish every decision and order that a dead worker left behind.

django-q2's Redis broker drops a task whose worker dies; the sweeper runs on a
schedule (and before a cluster takes new work) and moves each unfinished
(bot, signal) and each order not in a final state on by one step.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from trading.execution import advance, execute
from trading.models import Decision, Order


def sweep(
    *, now: dt.datetime | None = None, min_age_seconds: int | None = None, start_up: bool = False
) -> dict[str, int]:
    """Advance each unfinished order and decision older than the minimum age by one step."""
    now = now or timezone.now()
    age = settings.SWEEPER_MIN_AGE_SECONDS if min_age_seconds is None else min_age_seconds
    stale = now - dt.timedelta(seconds=age)
    orders = Order.objects.exclude(status__in=Order.FINAL).filter(updated_at__lte=stale)
    if not start_up:  # at start-up every order in doubt is looked at, backoff or not
        orders = orders.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    done_orders = 0
    for order in orders.order_by("created_at"):
        advance(order)
        done_orders += 1
    decisions = Decision.objects.filter(outcome=Decision.Outcome.PENDING, created_at__lte=stale)
    done_decisions = 0
    for decision in decisions.select_related("order").order_by("created_at"):
        order = getattr(decision, "order", None)
        if order is None:
            execute(decision.bot_id, decision.signal_id)
        elif order.is_final:
            advance(order)  # placed and final, but the worker died before the sync
        done_decisions += 1
    return {"orders": done_orders, "decisions": done_decisions}
