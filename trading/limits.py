"""Rate limits shared by every process that talks to an exchange.

Two budgets matter (DESIGN.md): request weight per outgoing IP, which every
user's bot draws on because they all leave from our addresses, and orders per
exchange account. Both are fixed windows, as Binance counts them, kept in Redis
in production and in the database on the embedded default, so a second worker
process sees what the first one spent. A ban (HTTP 418) or a Retry-After is
recorded the same way and stops every process until it ends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.functional import SimpleLazyObject

from trading.models import RateWindow


@dataclass(frozen=True)
class Budget:
    """``limit`` units per ``window`` seconds under ``key``."""

    key: str
    limit: int
    window: int


class WindowStore(Protocol):
    def spend(self, key: str, window_start: int, amount: int, limit: int, ttl: int) -> bool: ...

    def raise_to(self, key: str, window_start: int, used: int, ttl: int) -> None: ...

    def used(self, key: str, window_start: int) -> int: ...

    def block(self, key: str, until: float) -> None: ...

    def blocked_until(self, key: str) -> float: ...

    def unblock(self, key: str) -> None: ...
    def spend_all(self, items: Sequence[tuple[str, int, int, int, int]]) -> int: ...
    def raise_all(self, items: Sequence[tuple[str, int, int, int]]) -> None: ...
    def blocked_until_all(self, keys: Sequence[str]) -> list[float]: ...
    def spend_all_unless_blocked(
        self, blocks: Sequence[str], items: Sequence[tuple[str, int, int, int, int]], now: float
    ) -> tuple[list[float], int, list[int] | None]: ...


class RedisWindows:
    # Check and spend in one step: two processes can never both take the last unit.
    _SPEND = """
    local used = tonumber(redis.call('GET', KEYS[1]) or '0')
    if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
    redis.call('INCRBY', KEYS[1], ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return 1
    """
    # Several budgets (a request's weight and the account's order windows) all or none:
    # returns 0 when every one was spent, else the 1-based index of the first that did not
    # fit, and then nothing was spent. ARGV holds amount, limit, ttl for each key in turn.
    _SPEND_ALL = """
    for i = 1, #KEYS do
        local used = tonumber(redis.call('GET', KEYS[i]) or '0')
        if used + tonumber(ARGV[3 * i - 2]) > tonumber(ARGV[3 * i - 1]) then return i end
    end
    for i = 1, #KEYS do
        redis.call('INCRBY', KEYS[i], ARGV[3 * i - 2])
        redis.call('EXPIRE', KEYS[i], ARGV[3 * i])
    end
    return 0
    """
    # A request's whole check in one round trip: the bans (KEYS[1..nb], epoch seconds)
    # read first; while one holds (its end after ARGV[2], now) nothing is spent (-1);
    # else the budgets (the other KEYS; amount, limit, ttl each in ARGV from 3 on) spent
    # all or none as _SPEND_ALL does; a budget of amount 0 is never refused, only its count
    # read (a Binance order weighs 0, and the exchange reports that window). Returns {status, the nb ban values, each budget's
    # count afterwards}: what the exchange then reports need not be written when it is
    # no higher than that count.
    _SPEND_ALL_UNLESS_BLOCKED = """
    local nb = tonumber(ARGV[1])
    local now = tonumber(ARGV[2])
    local out = {0}
    local blocked = false
    for i = 1, nb do
        local until_at = redis.call('GET', KEYS[i]) or '0'
        out[#out + 1] = until_at
        if tonumber(until_at) > now then blocked = true end
    end
    local used = {}
    for i = nb + 1, #KEYS do
        used[#used + 1] = tonumber(redis.call('GET', KEYS[i]) or '0')
    end
    if blocked then
        out[1] = -1
    else
        for j = 1, #used do
            local base = 3 * j
            local amount = tonumber(ARGV[base])
            if amount > 0 and used[j] + amount > tonumber(ARGV[base + 1]) then
                out[1] = j
                break
            end
        end
        if out[1] == 0 then
            for j = 1, #used do
                local base = 3 * j
                used[j] = redis.call('INCRBY', KEYS[nb + j], ARGV[base])
                redis.call('EXPIRE', KEYS[nb + j], ARGV[base + 2])
            end
        end
    end
    for j = 1, #used do out[#out + 1] = used[j] end
    return out
    """
    _RAISE = """
    local used = tonumber(redis.call('GET', KEYS[1]) or '0')
    if tonumber(ARGV[1]) > used then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
    return 1
    """

    def __init__(self, url: str) -> None:
        # Start-up cost: only production talks to Redis; the embedded default never loads it.
        import redis

        self.redis = redis.Redis.from_url(url)
        self._spend = self.redis.register_script(self._SPEND)
        self._raise = self.redis.register_script(self._RAISE)
        self._spend_all = self.redis.register_script(self._SPEND_ALL)
        self._spend_unless = self.redis.register_script(self._SPEND_ALL_UNLESS_BLOCKED)

    def spend(self, key: str, window_start: int, amount: int, limit: int, ttl: int) -> bool:
        return bool(
            self._spend(keys=[f"oneclick:rl:{key}:{window_start}"], args=[amount, limit, ttl])
        )

    def raise_to(self, key: str, window_start: int, used: int, ttl: int) -> None:
        self._raise(keys=[f"oneclick:rl:{key}:{window_start}"], args=[used, ttl])

    def used(self, key: str, window_start: int) -> int:
        return int(self.redis.get(f"oneclick:rl:{key}:{window_start}") or 0)

    def block(self, key: str, until: float) -> None:
        ttl = max(1, math.ceil(until - time.time()))
        name = f"oneclick:block:{key}"
        current = float(self.redis.get(name) or 0)
        if until > current:
            self.redis.set(name, repr(until), ex=ttl)

    def blocked_until(self, key: str) -> float:
        return float(self.redis.get(f"oneclick:block:{key}") or 0)

    def unblock(self, key: str) -> None:
        self.redis.delete(f"oneclick:block:{key}")

    def spend_all(self, items: Sequence[tuple[str, int, int, int, int]]) -> int:
        keys = [f"oneclick:rl:{key}:{start}" for key, start, _, _, _ in items]
        args = [value for _, _, amount, limit, ttl in items for value in (amount, limit, ttl)]
        return int(self._spend_all(keys=keys, args=args))

    def raise_all(self, items: Sequence[tuple[str, int, int, int]]) -> None:
        pipe = self.redis.pipeline(transaction=False)  # one round trip for all of them
        for key, start, used, ttl in items:
            self._raise(keys=[f"oneclick:rl:{key}:{start}"], args=[used, ttl], client=pipe)
        pipe.execute()

    def blocked_until_all(self, keys: Sequence[str]) -> list[float]:
        values = self.redis.mget([f"oneclick:block:{key}" for key in keys])
        return [float(value or 0) for value in values]

    def spend_all_unless_blocked(
        self, blocks: Sequence[str], items: Sequence[tuple[str, int, int, int, int]], now: float
    ) -> tuple[list[float], int, list[int] | None]:
        keys = [f"oneclick:block:{key}" for key in blocks]
        keys += [f"oneclick:rl:{key}:{start}" for key, start, _, _, _ in items]
        args: list[int | str] = [len(blocks), repr(now)]
        args += [value for _, _, amount, limit, ttl in items for value in (amount, limit, ttl)]
        reply = self._spend_unless(keys=keys, args=args)
        status, nb = int(reply[0]), len(blocks)
        return [float(v) for v in reply[1 : 1 + nb]], status, [int(v) for v in reply[1 + nb :]]


class DatabaseWindows:
    """The embedded default's store: one row per key and window."""

    def spend(self, key: str, window_start: int, amount: int, limit: int, ttl: int) -> bool:
        # A conditional UPDATE is atomic on every database. Tried first: the window's
        # row exists for every request but its first, so that is one query, not three.
        rows = RateWindow.objects.filter(
            key=key, window_start=window_start, used__lte=limit - amount
        )
        if rows.update(used=F("used") + amount):
            return True
        self._ensure(key, window_start)  # the window's first request, or it is full
        return bool(rows.update(used=F("used") + amount))

    def raise_to(self, key: str, window_start: int, used: int, ttl: int) -> None:
        self._ensure(key, window_start)
        RateWindow.objects.filter(key=key, window_start=window_start, used__lt=used).update(
            used=used
        )

    def used(self, key: str, window_start: int) -> int:
        row = RateWindow.objects.filter(key=key, window_start=window_start).first()
        return row.used if row else 0

    # A block is kept in milliseconds: a Retry-After of 5 s must not become 6.
    def block(self, key: str, until: float) -> None:
        until_ms = math.ceil(until * 1000)
        self._ensure(f"block-ms:{key}", 0)
        RateWindow.objects.filter(key=f"block-ms:{key}", window_start=0, used__lt=until_ms).update(
            used=until_ms
        )

    def blocked_until(self, key: str) -> float:
        row = RateWindow.objects.filter(key=f"block-ms:{key}", window_start=0).first()
        return row.used / 1000 if row else 0.0

    def unblock(self, key: str) -> None:
        RateWindow.objects.filter(key=f"block-ms:{key}", window_start=0).delete()

    def spend_all(self, items: Sequence[tuple[str, int, int, int, int]]) -> int:
        # One transaction: a budget that does not fit rolls back those spent before it.
        try:
            with transaction.atomic():
                for index, (key, start, amount, limit, ttl) in enumerate(items, start=1):
                    if not self.spend(key, start, amount, limit, ttl):
                        raise _NotSpent(index)
        except _NotSpent as refused:
            return refused.index
        return 0

    def raise_all(self, items: Sequence[tuple[str, int, int, int]]) -> None:
        for key, start, used, ttl in items:
            self.raise_to(key, start, used, ttl)

    def blocked_until_all(self, keys: Sequence[str]) -> list[float]:
        rows = dict(
            RateWindow.objects.filter(
                key__in=[f"block-ms:{key}" for key in keys], window_start=0
            ).values_list("key", "used")
        )
        return [rows.get(f"block-ms:{key}", 0) / 1000 for key in keys]

    def spend_all_unless_blocked(
        self, blocks: Sequence[str], items: Sequence[tuple[str, int, int, int, int]], now: float
    ) -> tuple[list[float], int, list[int] | None]:
        # Two statements here (the embedded default has no Redis round trips to save);
        # no counts: what the exchange reports is always written.
        until = self.blocked_until_all(blocks)
        if any(value > now for value in until):
            return until, -1, None
        spendable = [(index, item) for index, item in enumerate(items, start=1) if item[2] > 0]
        refused = self.spend_all([item for _, item in spendable]) if spendable else 0
        return until, spendable[refused - 1][0] if refused else 0, None

    @staticmethod
    def _ensure(key: str, window_start: int) -> None:
        # One INSERT that does nothing when the row exists (another process made it):
        # no read first, no savepoint.
        RateWindow.objects.bulk_create(
            [RateWindow(key=key, window_start=window_start, used=0)], ignore_conflicts=True
        )
        # Old windows are pruned by trading.tasks.prune_rate_windows.


class _NotSpent(Exception):
    def __init__(self, index: int) -> None:
        self.index = index
        super().__init__(index)


def _default_store() -> WindowStore:
    url = getattr(settings, "REDIS_URL", "")
    return RedisWindows(url) if url else DatabaseWindows()


store: WindowStore = SimpleLazyObject(_default_store)


def _window_start(budget: Budget, now: float) -> int:
    return int(now // budget.window) * budget.window


def try_spend(budget: Budget, amount: int = 1, *, now: float | None = None) -> float:
    """Spend ``amount`` from ``budget`` if it fits in the current window.

    Returns 0 when spent, else the seconds until the window turns.
    """
    now = time.time() if now is None else now
    start = _window_start(budget, now)
    if store.spend(budget.key, start, amount, budget.limit, budget.window * 2):
        return 0.0
    return start + budget.window - now


def try_spend_all(
    costs: Sequence[tuple[Budget, int]], *, now: float | None = None
) -> tuple[float, int]:
    """Spend every ``(budget, amount)`` if each fits in its current window, or none of them.

    Returns ``(0, -1)`` when all were spent, else ``(seconds until that budget's window
    turns, its index in costs)`` for the first one that did not fit; nothing is spent
    then (one budget never holds units another one refused). One round trip to Redis.
    """
    now = time.time() if now is None else now
    costs = [(budget, amount) for budget, amount in costs if amount > 0]
    if not costs:
        return 0.0, -1
    starts = [_window_start(budget, now) for budget, _ in costs]
    refused = store.spend_all(
        [
            (budget.key, start, amount, budget.limit, budget.window * 2)
            for (budget, amount), start in zip(costs, starts, strict=True)
        ]
    )
    if refused == 0:
        return 0.0, -1
    budget, _ = costs[refused - 1]
    return starts[refused - 1] + budget.window - now, refused - 1


@dataclass(frozen=True)
class Spending:
    """What ``try_spend_all_unless_blocked`` found and did."""

    blocked: list[float]  # seconds left on each ban key asked about (0 when free)
    wait: float  # seconds until the refused budget's window turns (0 when all spent)
    refused: int  # index in costs of the first budget that did not fit; -1 when none
    # Budget key -> (window start, units counted there after this spend), when the store
    # says (Redis): an exchange's report no higher than that changes nothing.
    counted: dict[str, tuple[int, int]]

    @property
    def spent(self) -> bool:
        return self.refused < 0 and not any(self.blocked)


def try_spend_all_unless_blocked(
    blocks: Sequence[str], costs: Sequence[tuple[Budget, int]], *, now: float | None = None
) -> Spending:
    """``blocked_for_all(blocks)``, then, only if none of them holds, ``try_spend_all(costs)``:
    one round trip to Redis for a request's whole check instead of two.

    Nothing is spent while a ban holds or when a budget does not fit (all or none). A
    cost of 0 is never refused (with Redis its window's count is read, for ``counted``).
    """
    now = time.time() if now is None else now
    costs = [(budget, amount) for budget, amount in costs if amount >= 0]
    starts = [_window_start(budget, now) for budget, _ in costs]
    until, refused, counts = store.spend_all_unless_blocked(
        blocks,
        [
            (budget.key, start, amount, budget.limit, budget.window * 2)
            for (budget, amount), start in zip(costs, starts, strict=True)
        ],
        now,
    )
    blocked = [max(0.0, value - now) for value in until]
    counted = {}
    if counts is not None:
        counted = {
            budget.key: (start, used)
            for (budget, _), start, used in zip(costs, starts, counts, strict=True)
        }
    if refused <= 0:  # spent (0), or a ban held (-1)
        return Spending(blocked, 0.0, -1, counted)
    budget, _ = costs[refused - 1]
    return Spending(blocked, starts[refused - 1] + budget.window - now, refused - 1, counted)


def spent(budget: Budget, *, now: float | None = None) -> int:
    """Units of ``budget`` spent (or seen spent by the exchange) in the current window."""
    now = time.time() if now is None else now
    return store.used(budget.key, _window_start(budget, now))


def observe_usage(budget: Budget, used: int, *, now: float | None = None) -> None:
    """The exchange told us what it counted (X-MBX-USED-WEIGHT-1M): never count less."""
    now = time.time() if now is None else now
    store.raise_to(budget.key, _window_start(budget, now), used, budget.window * 2)


def observe_usages(
    observed: Sequence[tuple[Budget, int]],
    *,
    now: float | None = None,
    counted: Mapping[str, tuple[int, int]] | None = None,
) -> None:
    """``observe_usage`` for several budgets at once (one round trip to Redis).

    ``counted`` (``Spending.counted`` of this request's spend): a figure no higher than
    what the store counted in the same window is not written. Counts only grow within
    a window, so raising the count to it would change nothing; one round trip saved
    per request when the exchange saw no traffic of ours we did not count.
    """
    now = time.time() if now is None else now
    if counted:
        observed = [
            (budget, used)
            for budget, used in observed
            if budget.key not in counted
            or counted[budget.key][0] != _window_start(budget, now)
            or used > counted[budget.key][1]
        ]
    if not observed:
        return
    store.raise_all(
        [
            (budget.key, _window_start(budget, now), used, budget.window * 2)
            for budget, used in observed
        ]
    )


def block(key: str, *, seconds: float, now: float | None = None) -> None:
    """Stop every process from using ``key`` for ``seconds`` (Retry-After, 418 ban)."""
    now = time.time() if now is None else now
    store.block(key, now + seconds)


def blocked_for(key: str, *, now: float | None = None) -> float:
    """Seconds left on a block of ``key`` (0 when free)."""
    now = time.time() if now is None else now
    return max(0.0, store.blocked_until(key) - now)


def blocked_for_all(keys: Sequence[str], *, now: float | None = None) -> list[float]:
    """``blocked_for`` of each key, read at once (one round trip to Redis)."""
    now = time.time() if now is None else now
    return [max(0.0, until - now) for until in store.blocked_until_all(keys)]


def unblock(key: str) -> None:
    """Lift a block of ``key`` for every process (an operator who knows the ban is over; tests)."""
    store.unblock(key)
