"""django-q2 schedules of the vault, created idempotently after migrate."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

RECHECK_NAME = "vault: re-check exchange keys"


def ensure_schedules(**kwargs: Any) -> None:
    Schedule.objects.update_or_create(
        name=RECHECK_NAME,
        defaults={
            "func": "vault.tasks.recheck_all_credentials",
            "schedule_type": Schedule.MINUTES,
            "minutes": 360,
            "repeats": -1,
        },
    )
