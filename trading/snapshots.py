"""Periodic equity snapshots (the equity and drawdown charts) and balance refreshes.

A snapshot copies each bot's book, with its positions marked at the latest
stored candle close of the strategy's market, into one row per bot and slot.
Slots are aligned to ``SNAPSHOT_MINUTES``, so a schedule that fires twice in a
slot (a retry, two clusters) adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from strategies.models import Candle
from trading.models import Bot, EquitySnapshot, Position

logger = logging.getLogger(__name__)

SNAPSHOT_MINUTES = 60
ZERO = Decimal(0)


def slot_of(when: datetime) -> datetime:
    minutes = (when.hour * 60 + when.minute) // SNAPSHOT_MINUTES * SNAPSHOT_MINUTES
    return when.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)


def latest_closes(keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], Decimal]:
    """The last stored close per (exchange, market, timeframe): one query per market."""
    closes = {}
    for exchange_id, market, timeframe in set(keys):
        candle = (
            Candle.objects.filter(exchange_id=exchange_id, market=market, timeframe=timeframe)
            .order_by("-open_time")
            .values_list("close", flat=True)
            .first()
        )
        if candle is not None:
            closes[(exchange_id, market, timeframe)] = candle
    return closes


def snapshots_take(*, now: datetime | None = None) -> int:
    """Write this slot's snapshot of every bot that is not stopped; returns rows written.

    Stopped bots keep the snapshots they have; their book no longer moves.
    """
    taken_at = slot_of(now or timezone.now())
    bots = list(
        Bot.objects.exclude(status=Bot.Status.STOPPED)
        .select_related("strategy")
        .prefetch_related(
            Prefetch("positions", queryset=Position.objects.filter(amount__gt=0), to_attr="held")
        )
    )
    closes = latest_closes(
        (bot.strategy.exchange_id, p.market, bot.strategy.timeframe)
        for bot in bots
        for p in bot.held
    )
    rows = []
    for bot in bots:
        marked, unrealised = ZERO, ZERO
        for position in bot.held:
            key = (bot.strategy.exchange_id, position.market, bot.strategy.timeframe)
            price = closes.get(key) or position.avg_entry
            marked += position.amount * price
            unrealised += (price - position.avg_entry) * position.amount
        rows.append(
            EquitySnapshot(
                bot=bot,
                taken_at=taken_at,
                equity=bot.cash + marked if bot.held else bot.equity,
                cash=bot.cash,
                realised_pnl=bot.realised_pnl,
                unrealised_pnl=unrealised if bot.held else bot.unrealised_pnl,
                fees_paid=bot.fees_paid,
            )
        )
    EquitySnapshot.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)


def snapshots_prune(*, keep_days: int = 400) -> int:
    cutoff = timezone.now() - timedelta(days=keep_days)
    return EquitySnapshot.objects.filter(taken_at__lt=cutoff).delete()[0]
