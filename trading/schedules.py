"""django-q2 schedules of trading (listed in oneclick.schedules), created after migrate."""

from __future__ import annotations

from typing import Any

from oneclick.schedules import ensure_periodic


def ensure_schedules(**kwargs: Any) -> None:
    ensure_periodic("trading")
