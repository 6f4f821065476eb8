"""Counts of tries per key within a time window, atomic across processes.

With Redis as the cache (production), INCR is atomic. Django's database cache
(the embedded default) increments with a read and then a write, so processes
counting at the same moment can read the same number and each count once less;
there the count lives in ``TryCount`` rows, raised by a single UPDATE.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.models import TryCount


def _redis() -> RedisCache | None:
    cache = caches["default"]
    return cache if isinstance(cache, RedisCache) else None


def count_try(key: str, *, window: int) -> int:
    """Add one try to ``key``'s window (started by its first try); the count so far."""
    cache = _redis()
    if cache is None:
        return count_try_in_database(key, window=window)
    # add() starts the window only once; incr() is atomic on Redis.
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # the window expired between add() and incr()
        cache.set(key, 1, timeout=window)
        return 1


def tries(key: str) -> int:
    """The count of ``key``'s current window; 0 once it has expired."""
    cache = _redis()
    if cache is None:
        return tries_in_database(key)
    return cache.get(key, 0)


def clear(key: str) -> None:
    cache = _redis()
    if cache is None:
        TryCount.objects.filter(key=key).delete()
    else:
        cache.delete(key)


def count_try_in_database(key: str, *, window: int) -> int:
    now = timezone.now()
    ends = now + timedelta(seconds=window)
    # Durable: the try is committed before its code is checked, so a caller's
    # rollback can never take a counted try back.
    with transaction.atomic(durable=True):
        started = False
        # One UPDATE: PostgreSQL holds the row lock and SQLite the write lock until
        # commit, so the count read back below is this try's own.
        while not _add_one(key, now=now, ends=ends):
            try:
                with transaction.atomic():
                    TryCount.objects.create(key=key, count=1, expires_at=ends)
            except IntegrityError:  # another process started this window first
                continue
            started = True
            break
        count = TryCount.objects.values_list("count", flat=True).get(key=key)
    if started:
        # Expired windows of other keys would otherwise stay for good; one DELETE
        # per new window keeps the table to the keys counted lately.
        TryCount.objects.filter(expires_at__lte=now).delete()
    return count


def _add_one(key: str, *, now: datetime, ends: datetime) -> bool:
    """One more try on ``key``'s row, or 1 and a new window if it expired; whether it exists."""
    updated = TryCount.objects.filter(key=key).update(
        count=Case(When(expires_at__lte=now, then=Value(1)), default=F("count") + 1),
        expires_at=Case(When(expires_at__lte=now, then=Value(ends)), default=F("expires_at")),
    )
    return updated == 1


def tries_in_database(key: str) -> int:
    count = (
        TryCount.objects.filter(key=key, expires_at__gt=timezone.now())
        .values_list("count", flat=True)
        .first()
    )
    return count or 0
