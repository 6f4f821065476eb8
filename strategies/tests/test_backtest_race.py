"""One unfinished backtest per user also when the requests arrive at once (PostgreSQL:
SQLite runs one writer at a time and has no row locks to test)."""

from __future__ import annotations

import contextlib
import time

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from strategies import services
from strategies.models import Backtest
from strategies.services import BacktestRefused, backtest_request
from strategies.tests.factories import StrategyFactory
from testing.threads import run_in_threads


@pytest.mark.django_db(transaction=True)
def test_two_backtest_requests_at_once_queue_one(monkeypatch) -> None:
    # Failed before (PG): both saw no unfinished backtest and both were queued, so
    # parallel requests queued as many heavy backtests as they liked.
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    user, strategy = UserFactory(), StrategyFactory(markets=["BTC/USDT"])
    monkeypatch.setattr("strategies.services.async_task", lambda *args: None)
    real_last_closed = services.last_closed

    def slow_last_closed(*args, **kwargs):  # widen the window between check and insert
        time.sleep(0.5)
        return real_last_closed(*args, **kwargs)

    monkeypatch.setattr("strategies.services.last_closed", slow_last_closed)

    def request(_: int) -> None:
        with contextlib.suppress(BacktestRefused):  # the second one, told to wait
            backtest_request(strategy=strategy, market="BTC/USDT", days=10, requested_by=user)

    assert run_in_threads(request, 2) == []
    assert Backtest.objects.filter(requested_by=user).count() == 1
