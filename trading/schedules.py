"""django-q2 schedules of trading, created idempotently after migrate."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

SCHEDULES = {
    "trading: sweep unfinished orders": ("trading.tasks.sweep_unfinished", 1),
    "trading: irregular activity watch": ("trading.tasks.watch_activity", 60),
    "trading: prune rate windows": ("trading.tasks.prune_rate_windows", 360),
    # Balances are read on this schedule, no longer after every order.
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
