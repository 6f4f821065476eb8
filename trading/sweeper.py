"""Nothing lost: finish every decision and order that a dead worker left behind.

django-q2's Redis broker drops a task whose worker dies; the sweeper runs on a
schedule (and, as ``reconcile_orders``, before a cluster takes new work). It
moves each order with work left on by one step (claiming it first, so two
sweeps, or a sweep and a worker, never handle the same order at once), retries
each pending decision that is due, and executes the (bot, signal) pairs that
should have a decision and have none while the signal is fresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from strategies.models import Signal, Strategy
from strategies.signing import is_fresh
from trading.execution import execute
from trading.models import Bot, Decision
from trading.orders import advance, due_orders


def sweep(
    *, now: dt.datetime | None = None, min_age_seconds: int | None = None, start_up: bool = False
) -> dict[str, int]:
    """Advance unfinished orders, due decisions and missing decisions; counts of each.

    At start-up every order with work left is looked at, back-off or not.
    """
    now = now or timezone.now()
    age = settings.SWEEPER_MIN_AGE_SECONDS if min_age_seconds is None else min_age_seconds
    stale = now - dt.timedelta(seconds=age)
    done_orders = 0
    for order in due_orders(now=now, stale=stale, ignore_backoff=start_up):
        advance(order)
        done_orders += 1
    due = Decision.objects.filter(
        outcome=Decision.Outcome.PENDING, created_at__lte=stale, order__isnull=True
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    done_decisions = 0
    for bot_id, signal_id in due.order_by("created_at").values_list("bot_id", "signal_id"):
        execute(bot_id, signal_id)
        done_decisions += 1
    missing = 0
    for bot_id, signal_id in missing_decisions(now=now, stale=stale):
        execute(bot_id, signal_id)
        missing += 1
    return {"orders": done_orders, "decisions": done_decisions, "missing": missing}


def missing_decisions(*, now: dt.datetime, stale: dt.datetime) -> Iterator[tuple[Any, Any]]:
    """(bot, signal) pairs a fan-out should have executed: the signal is fresh, the bot
    was running when it came, follows its strategy, lists its market, has no decision."""
    longest = Strategy.objects.aggregate(m=Max("max_signal_age"))["m"] or 0
    signals = Signal.objects.filter(
        created_at__gte=now - dt.timedelta(seconds=longest), created_at__lte=stale
    ).select_related("strategy")
    for signal in signals.order_by("created_at"):
        if not is_fresh(signal, now=now):
            continue
        bots = (
            Bot.objects.filter(
                strategy_id=signal.strategy_id,
                status=Bot.Status.ACTIVE,
                created_at__lte=signal.created_at,
            )
            .exclude(decisions__signal=signal)
            .only("pk", "markets")
        )
        for bot in bots:
            if signal.market in bot.markets:
                yield bot.pk, signal.pk
