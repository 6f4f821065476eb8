from __future__ import annotations

import threading
import uuid
from typing import Any

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
    try_spend_all_unless_blocked,
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


def test_a_ban_and_the_budgets_are_one_step_and_a_ban_spends_nothing(budget: Budget) -> None:
    ban, pause = (f"ban:{uuid.uuid4().hex}" for _ in range(2))
    orders = Budget(key=f"test:{uuid.uuid4().hex}", limit=2, window=10)
    now = 1_000_041.0
    spending = try_spend_all_unless_blocked([ban, pause], [(budget, 3), (orders, 1)], now=now)
    assert spending.spent and spending.blocked == [0, 0] and spending.refused == -1
    block(pause, seconds=5, now=now)
    spending = try_spend_all_unless_blocked([ban, pause], [(budget, 3), (orders, 1)], now=now)
    assert not spending.spent and spending.blocked == [0, pytest.approx(5)]
    assert spent(budget, now=now) == 3 and spent(orders, now=now) == 1  # nothing taken
    later = now + 6  # the pause is over, the 10 s window is not: 1 + 1 of 2
    assert try_spend_all_unless_blocked([ban, pause], [(orders, 1)], now=later).spent
    refused = try_spend_all_unless_blocked([ban, pause], [(budget, 1), (orders, 1)], now=later)
    assert refused.refused == 1 and refused.wait == pytest.approx(3)
    assert spent(budget, now=later) == 3  # all or none, as try_spend_all
    assert try_spend_all_unless_blocked([ban], [], now=later).spent  # bans only
    observe_usage(budget, 50, now=later)  # the exchange counted more than the limit
    free = try_spend_all_unless_blocked([ban], [(budget, 0), (orders, 1)], now=later + 4)
    assert free.spent  # a request that weighs 0 is not refused by the spent weight
    assert spent(orders, now=later + 4) == 1 and spent(budget, now=later) == 50


def test_an_exchange_figure_no_higher_than_our_count_is_not_written_but_a_higher_one_is(
    budget: Budget, monkeypatch
) -> None:
    now = 1_000_041.0
    spending = try_spend_all_unless_blocked([], [(budget, 4)], now=now)
    writes: list[object] = []
    raise_all = limits.store.raise_all

    def recording(items: Any) -> Any:
        writes.append(items)
        return raise_all(items)

    monkeypatch.setattr(limits.store, "raise_all", recording)
    observe_usages([(budget, 4)], now=now, counted=spending.counted)
    if spending.counted:  # Redis says what it counted: nothing to write
        assert writes == []
    observe_usages([(budget, 7)], now=now, counted=spending.counted)  # traffic we missed
    assert spent(budget, now=now) == 7 and len(writes) == (1 if spending.counted else 2)
    # The same figure in the next window is not compared with this one's count.
    observe_usages([(budget, 2)], now=now + 60, counted=spending.counted)
    assert spent(budget, now=now + 60) == 2


def test_the_store_follows_the_setup(settings) -> None:
    expected = limits.RedisWindows if settings.REDIS_URL else limits.DatabaseWindows
    assert isinstance(limits._default_store(), expected)
