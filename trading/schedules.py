"""django-q2 schedules of trading, created idempotently after migrate."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

SCHEDULES = {
    "trading: sweep unfinished orders": ("trading.tasks.sweep_unfinished", 1),
    "trading: irregular activity watch": ("trading.tasks.watch_activity", 60),
    "trading: prune rate windows": ("trading.tasks.prune_rate_windows", 360),
    # The dashboard's equity and drawdown charts; aligned to trading.snapshots.SNAPSHOT_MINUTES.
    "trading: equity snapshots": ("trading.tasks.take_equity_snapshots", 60),
    "trading: prune equity snapshots": ("trading.tasks.prune_equity_snapshots", 1440),
    # Balances are read on this schedule (accounts that traded, new or stale), not after every order.
    "trading: refresh balances": ("trading.tasks.refresh_balances", 15),
}


def ensure_schedules(**kwargs: Any) -> None:
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
