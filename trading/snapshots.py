"""Periodic equity snapshots (the equity and drawdown charts) and balance refreshes.

A snapshot copies each bot's book, its positions first valued at the market's
last price (``trading.marks``), into one row per bot and slot.
Slots are aligned to ``SNAPSHOT_MINUTES``, so a schedule that fires twice in a
slot (a retry, two clusters) adds nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from trading.marks import mark_held_positions
from trading.models import Bot, EquitySnapshot

logger = logging.getLogger(__name__)

SNAPSHOT_MINUTES = 60


def slot_of(when: datetime) -> datetime:
    minutes = (when.hour * 60 + when.minute) // SNAPSHOT_MINUTES * SNAPSHOT_MINUTES
    return when.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)


def snapshots_take(*, now: datetime | None = None) -> int:
    """Write this slot's snapshot of every bot that is not stopped; returns rows written.

    Held positions are first valued at the market (``trading.marks``), then each
    bot's stored totals are copied, so the chart's point is the figure every page
    shows. Stopped bots keep the snapshots they have; their book no longer moves.
    """
    taken_at = slot_of(now or timezone.now())
    mark_held_positions()
    rows = [
        EquitySnapshot(
            bot_id=bot_id,
            taken_at=taken_at,
            equity=equity,
            cash=cash,
            realised_pnl=realised,
            unrealised_pnl=unrealised,
            fees_paid=fees,
        )
        for bot_id, equity, cash, realised, unrealised, fees in Bot.objects.exclude(
            status=Bot.Status.STOPPED
        ).values_list("pk", "equity", "cash", "realised_pnl", "unrealised_pnl", "fees_paid")
    ]
    EquitySnapshot.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)


def snapshots_prune(*, keep_days: int = 400) -> int:
    cutoff = timezone.now() - timedelta(days=keep_days)
    return EquitySnapshot.objects.filter(taken_at__lt=cutoff).delete()[0]
