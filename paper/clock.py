"""Time sources for the paper exchange.

Every paper decision (prices, fills, rate-limit windows) reads the time through
one callable, so a test or a backtest can move time on without sleeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone


def system_clock() -> datetime:
    return timezone.now()


class ManualClock:
    """A clock that only moves when told to; aware UTC datetimes."""

    def __init__(self, start: datetime) -> None:
        if timezone.is_naive(start):
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when
