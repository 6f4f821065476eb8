from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from trading import limits
from trading.limits import (
    Budget,
    block,
    blocked_for,
    blocked_for_all,
    observe_usage,
    observe_usages,
    spent,
    try_spend,
    try_spend_all,
)


@pytest.fixture
def budget() -> Budget:
    # A fresh key per test: Redis (the production setup) keeps windows between tests.
    return Budget(key=f"test:{uuid.uuid4().hex}", limit=10, window=60)


pytestmark = pytest.mark.django_db


def test_it_spends_until_the_limit_then_says_how_long_to_wait(budget: Budget) -> None:
    now = 1_000_040.0  # 20 s into the 60 s window that starts at 1_000_020
    assert try_spend(budget, 6, now=now) == 0
    assert try_spend(budget, 4, now=now) == 0
    assert try_spend(budget, 1, now=now) == pytest.approx(40)


def test_a_request_heavier_than_what_is_left_waits(budget: Budget) -> None:
    now = 1_000_040.0
    try_spend(budget, 8, now=now)
    assert try_spend(budget, 3, now=now) > 0
    assert try_spend(budget, 2, now=now) == 0


def test_the_next_window_starts_afresh(budget: Budget) -> None:
    try_spend(budget, 10, now=1_000_040.0)
    assert try_spend(budget, 10, now=1_000_100.0) == 0


def test_what_the_exchange_counted_is_never_undercounted(budget: Budget) -> None:
    now = 1_000_040.0
    try_spend(budget, 2, now=now)
    observe_usage(budget, 9, now=now)  # other traffic from our IP we did not see
    assert try_spend(budget, 2, now=now) > 0
    observe_usage(budget, 1, now=now)  # a lower figure never lowers the count
    assert try_spend(budget, 1, now=now) == 0
    assert try_spend(budget, 1, now=now) > 0


def test_a_block_stops_everyone_until_it_ends() -> None:
    key = f"ban:{uuid.uuid4().hex}"
    assert blocked_for(key, now=1000) == 0
    block(key, seconds=120, now=1000)
    assert blocked_for(key, now=1060) == pytest.approx(60)
    block(key, seconds=10, now=1060)  # a shorter block never shortens a longer one
    assert blocked_for(key, now=1100) == pytest.approx(20)
    assert blocked_for(key, now=1121) == 0


def test_several_budgets_are_spent_all_or_none(budget: Budget) -> None:
    # A request's weight and an account's order windows: one refused spends nothing.
    orders = Budget(key=f"test:{uuid.uuid4().hex}", limit=2, window=10)
    now = 1_000_041.0  # 1 s into a 10 s window, 21 s into a 60 s one
    assert try_spend_all([(budget, 3), (orders, 1)], now=now) == (0, -1)
    assert try_spend_all([(budget, 3), (orders, 1)], now=now) == (0, -1)
    wait, refused = try_spend_all([(budget, 3), (orders, 1)], now=now)
    assert refused == 1 and wait == pytest.approx(9)  # the order window turns first
    assert spent(budget, now=now) == 6 and spent(orders, now=now) == 2  # nothing taken
    wait, refused = try_spend_all([(budget, 5), (orders, 1)], now=now + 10)
    assert refused == 0 and wait == pytest.approx(29)  # 6 + 5 > 10: the weight refuses
    assert spent(orders, now=now + 10) == 0  # the order window was not spent for it
    assert try_spend_all([(budget, 4), (orders, 1)], now=now + 10) == (0, -1)
    assert try_spend_all([(budget, 0)], now=now) == (0, -1)  # nothing to spend


def test_several_observed_figures_are_written_at_once(budget: Budget) -> None:
    orders = Budget(key=f"test:{uuid.uuid4().hex}", limit=5, window=10)
    now = 1_000_041.0
    try_spend(budget, 2, now=now)
    observe_usages([(budget, 9), (orders, 5)], now=now)
    assert spent(budget, now=now) == 9 and spent(orders, now=now) == 5
    observe_usages([(budget, 1)], now=now)  # never lowers a count
    assert spent(budget, now=now) == 9


def test_blocks_are_read_together() -> None:
    ban, pause, free = (f"ban:{uuid.uuid4().hex}" for _ in range(3))
    block(ban, seconds=120, now=1000)
    block(pause, seconds=10, now=1000)
    assert blocked_for_all([ban, free, pause], now=1005) == [
        pytest.approx(115),
        0,
        pytest.approx(5),
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_spenders_of_several_budgets_never_exceed_either() -> None:
    weight = Budget(key=f"test:{uuid.uuid4().hex}", limit=60, window=3600)
    orders = Budget(key=f"test:{uuid.uuid4().hex}", limit=25, window=3600)
    granted: list[int] = []
    lock = threading.Lock()

    def spender() -> None:
        mine = 0
        try:
            for _ in range(20):
                if try_spend_all([(weight, 2), (orders, 1)])[1] < 0:
                    mine += 1
        finally:
            connection.close()
        with lock:
            granted.append(mine)

    threads = [threading.Thread(target=spender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 25 and spent(orders) == 25 and spent(weight) == 50


@pytest.mark.django_db(transaction=True)
def test_concurrent_spenders_never_exceed_the_budget() -> None:
    budget = Budget(key=f"test:{uuid.uuid4().hex}", limit=50, window=3600)
    granted: list[int] = []
    lock = threading.Lock()

    def spender() -> None:
        mine = 0
        try:
            for _ in range(40):
                if try_spend(budget, 1) == 0:
                    mine += 1
        finally:
            connection.close()
        with lock:
            granted.append(mine)

    threads = [threading.Thread(target=spender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 50


def test_the_store_follows_the_setup(settings) -> None:
    expected = limits.RedisWindows if settings.REDIS_URL else limits.DatabaseWindows
    assert isinstance(limits._default_store(), expected)
