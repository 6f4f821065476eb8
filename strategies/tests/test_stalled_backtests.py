from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from strategies.models import Backtest
from strategies.tasks import fail_stalled_backtests
from strategies.tests.factories import BacktestFactory

pytestmark = pytest.mark.django_db


def test_a_backtest_whose_worker_died_is_marked_failed() -> None:
    stalled = BacktestFactory(status="running")
    fresh = BacktestFactory(status="running")
    Backtest.objects.filter(pk=stalled.pk).update(updated_at=timezone.now() - dt.timedelta(hours=2))
    assert fail_stalled_backtests() == 1
    stalled.refresh_from_db()
    fresh.refresh_from_db()
    assert stalled.status == "failed" and "Run it again" in stalled.error
    assert fresh.status == "running"
