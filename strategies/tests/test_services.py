from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_q.models import Schedule

from accounts.tests.factories import UserFactory
from strategies import services
from strategies.models import Backtest, Strategy
from strategies.schedules import run_schedule_name
from strategies.services import (
    BacktestRefused,
    backtest_execute,
    backtest_request,
    strategy_create,
    strategy_rotate_keys,
    strategy_set_active,
    strategy_settings_changed,
)
from strategies.signing import verify_signal
from strategies.tests.conftest import NOW
from strategies.tests.factories import NO_RISK, SignalFactory, StrategyFactory
from strategies.timeframes import last_closed, step

pytestmark = pytest.mark.django_db
QUICK = {"fast": 3, "slow": 6, "vol_window": 5}


def create(**overrides: Any) -> Strategy:
    values: dict[str, Any] = {
        "slug": "svc-test",
        "name": "Service test",
        "kind": "trend_following",
        "markets": ["BTC/USDT"],
    }
    values.update(overrides)
    return strategy_create(**values)


def test_a_new_strategy_gets_a_key_pair_that_signs_and_verifies() -> None:
    strategy = create(interval_minutes=60)
    assert len(strategy.public_key) == 64
    assert strategy.max_signal_age == 2 * 60 * 60
    signal = SignalFactory(strategy=Strategy.objects.get(pk=strategy.pk))
    assert verify_signal(signal, strategy.public_key)


def test_a_new_active_strategy_is_scheduled_at_its_interval() -> None:
    strategy = create(interval_minutes=60)
    schedule = Schedule.objects.get(name=run_schedule_name(strategy))
    assert (schedule.func, schedule.args, schedule.minutes) == (
        "strategies.tasks.run_strategy",
        f"({strategy.pk},)",
        60,
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"kind": "astrology"}, "kind"), ({"params": {"fast": 100}}, "params"), ({"markets": []}, "markets"),
     ({"timeframe": "2d"}, "timeframe"), ({"slug": "trend-rider"}, "slug")],
)  # fmt: skip
def test_an_invalid_strategy_is_refused_with_the_field_named(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        create(**overrides)
    assert field in error.value.message_dict
    assert not Strategy.objects.filter(
        slug=overrides.get("slug", "svc-test"), name="Service test"
    ).exists()


def test_rotating_keys_makes_earlier_signals_fail_and_new_ones_verify() -> None:
    strategy = StrategyFactory()
    old_signal = SignalFactory(strategy=strategy)
    old_public = strategy.public_key
    strategy_rotate_keys(strategy=strategy)
    strategy = Strategy.objects.get(pk=strategy.pk)
    assert strategy.public_key != old_public and strategy.keys_rotated_at is not None
    assert not verify_signal(old_signal, strategy.public_key)
    assert verify_signal(SignalFactory(strategy=strategy), strategy.public_key)


def test_switching_a_strategy_off_removes_its_schedule_and_on_brings_it_back() -> None:
    strategy = create()
    strategy_set_active(strategy=strategy, active=False)
    assert not Schedule.objects.filter(name=run_schedule_name(strategy)).exists()
    strategy_set_active(strategy=strategy, active=True)
    assert Schedule.objects.filter(name=run_schedule_name(strategy)).count() == 1


@pytest.fixture
def quick_strategy() -> Strategy:
    return StrategyFactory(params=QUICK, markets=["BTC/USDT", "ETH/USDT"])


def test_a_backtest_request_is_queued_for_whole_closed_periods(
    quick_strategy, settings, monkeypatch
) -> None:
    settings.STRATEGY_BACKTEST_FEE_RATE = "0.002"
    queued: list[tuple] = []
    monkeypatch.setattr("strategies.services.async_task", lambda *args: queued.append(args))
    backtest = backtest_request(strategy=quick_strategy, market="ETH/USDT", days=10, now=NOW)
    assert backtest.status == Backtest.Status.QUEUED and backtest.requested_by is None
    assert backtest.end == last_closed(NOW, "4h")
    assert backtest.start == backtest.end - timedelta(days=10) + timedelta(hours=4)
    assert (backtest.fee_rate, backtest.slippage_rate, backtest.capital) == (
        Decimal("0.002"), Decimal("0.0005"), Decimal("10000"),
    )  # fmt: skip
    assert backtest.kind == "trend_following" and backtest.params == QUICK


def test_the_backtest_task_is_queued_only_after_commit(
    quick_strategy, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    queued: list[tuple] = []
    monkeypatch.setattr("strategies.services.async_task", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        backtest = backtest_request(strategy=quick_strategy, market="BTC/USDT", days=10, now=NOW)
    assert queued == []
    callbacks[0]()
    assert queued == [("strategies.tasks.run_backtest", str(backtest.pk))]


@pytest.mark.parametrize(
    ("market", "days", "message"),
    [
        ("SOL/USDT", 10, "does not trade SOL/USDT"),
        ("BTC/USDT", 0, "1 to"),
        ("BTC/USDT", 5000, "1 to"),
    ],
)
def test_a_backtest_outside_what_the_strategy_trades_is_refused(
    quick_strategy, market, days, message
) -> None:
    with pytest.raises(BacktestRefused, match=message):
        backtest_request(strategy=quick_strategy, market=market, days=days)


def test_a_user_has_one_unfinished_backtest_at_a_time(quick_strategy, monkeypatch) -> None:
    monkeypatch.setattr("strategies.services.async_task", lambda *args: None)
    user = UserFactory()
    backtest_request(strategy=quick_strategy, market="BTC/USDT", days=10, requested_by=user)
    with pytest.raises(BacktestRefused, match="still running"):
        backtest_request(strategy=quick_strategy, market="BTC/USDT", days=10, requested_by=user)
    backtest_request(
        strategy=quick_strategy, market="BTC/USDT", days=10, requested_by=UserFactory()
    )


def test_executing_a_backtest_stores_its_statistics_curve_and_progress(
    quick_strategy, paper, monkeypatch
) -> None:
    monkeypatch.setattr("strategies.services.async_task", lambda *args: None)
    backtest = backtest_request(strategy=quick_strategy, market="BTC/USDT", days=10, now=NOW)
    seen: list[tuple[str, int]] = []
    real_report = services._report

    def report(backtest: Backtest, *, phase: str, progress: int) -> None:
        seen.append((phase, progress))
        real_report(backtest, phase=phase, progress=progress)

    monkeypatch.setattr(services, "_report", report)
    done = backtest_execute(backtest=backtest, client=paper)
    done.refresh_from_db()
    assert done.status == Backtest.Status.DONE and done.progress == 100 and done.error == ""
    assert done.candles == 60  # ten days of 4h candles
    assert done.total_return is not None and done.max_drawdown >= 0 and done.exposure is not None
    assert done.final_equity == (done.capital * (1 + done.total_return)).quantize(Decimal("0.01"))
    assert done.curve[0][0] == int(done.start.timestamp() * 1000)
    assert done.curve[-1][0] == int(done.end.timestamp() * 1000)
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] >= 90
    assert seen[0][0] == "fetching candles" and seen[-1][0] == "replaying"


def test_an_executed_backtest_keeps_the_trades_it_made_for_the_chart(
    quick_strategy, paper, monkeypatch
) -> None:
    from strategies.backtest import Costs, run_backtest
    from strategies.library import build_model
    from strategies.market_data import candle_series

    monkeypatch.setattr("strategies.services.async_task", lambda *args: None)
    backtest = backtest_request(strategy=quick_strategy, market="BTC/USDT", days=10, now=NOW)
    done = backtest_execute(backtest=backtest, client=paper)
    done.refresh_from_db()
    assert done.status == Backtest.Status.DONE and done.trades > 0
    # The same replay, run again on the candles it stored: the log is its trades.
    model = build_model(done.kind, done.params)
    series = candle_series(
        exchange_id=done.data_exchange, market=done.market, timeframe=done.timeframe,
        until=done.end, since=done.start - model.history * step(done.timeframe),
    )  # fmt: skip
    first = next(i for i in range(len(series)) if series.open_time(i) >= done.start)
    again = run_backtest(
        model, series, capital=done.capital,
        costs=Costs(fee_rate=done.fee_rate, slippage_rate=done.slippage_rate),
        start=max(first, model.lookback - 1),
    )  # fmt: skip
    assert [[ms, side, Decimal(p), Decimal(a)] for ms, side, p, a in done.trade_log] == [
        [t.time_ms, t.side, t.price, t.amount] for t in again.ledger.trades
    ]
    assert len(done.trade_log) == done.trades and done.trade_log[0][1] == "buy"


def test_a_backtest_that_cannot_run_is_marked_failed_with_the_reason(
    quick_strategy, paper, monkeypatch
) -> None:
    monkeypatch.setattr("strategies.services.async_task", lambda *args: None)
    backtest = backtest_request(strategy=quick_strategy, market="BTC/USDT", days=10, now=NOW)
    Backtest.objects.filter(pk=backtest.pk).update(market="DOGE/USDT")
    backtest.refresh_from_db()
    failed = backtest_execute(backtest=backtest, client=paper)
    failed.refresh_from_db()
    assert failed.status == Backtest.Status.FAILED
    assert failed.error.startswith("BadSymbol") and failed.finished_at is not None


def test_a_learned_backtest_fetches_enough_history_to_be_fitted_from_its_first_candle(
    paper, monkeypatch
) -> None:
    from strategies.models import Candle

    monkeypatch.setattr("strategies.services.async_task", lambda *args: None)
    strategy = StrategyFactory(
        kind="ml_direction",
        params={"train_window": 100, "min_train": 50, "trend_slow": 0, **NO_RISK},
    )
    backtest = backtest_request(strategy=strategy, market="BTC/USDT", days=5, now=NOW)
    done = backtest_execute(backtest=backtest, client=paper)
    assert done.status == Backtest.Status.DONE and done.candles == 30
    first = Candle.objects.order_by("open_time").first()
    assert first is not None
    first_stored = first.open_time
    # 100 training candles, 49 of feature warm-up, and up to 42 candles back to the refit
    # time whose fit decides at the start.
    assert first_stored == backtest.start - 191 * timedelta(hours=4)
    assert done.trades > 0  # it traded from the start instead of waiting to learn


def test_a_learned_strategy_gets_its_first_fit_queued_when_created_or_switched_on(
    monkeypatch, django_capture_on_commit_callbacks
) -> None:
    queued: list[tuple] = []
    monkeypatch.setattr("strategies.services.async_task", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        learned = create(slug="ml", kind="ml_direction", params={})
        create(slug="trend")
    fits = [args for args in queued if args[0] == "strategies.tasks.refit_strategy"]
    assert fits == [("strategies.tasks.refit_strategy", learned.pk)]
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        strategy_set_active(strategy=learned, active=True)  # already on: nothing to fit
        strategy_set_active(strategy=learned, active=False)
        strategy_set_active(strategy=learned, active=True)
    assert len(queued) == 1  # switched on again: one more fit


def test_a_new_or_edited_strategy_gets_its_official_record_queued(
    monkeypatch, django_capture_on_commit_callbacks
) -> None:
    queued: list[tuple] = []
    monkeypatch.setattr("strategies.services.async_task", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        strategy = create(slug="recorded")
    assert ("strategies.tasks.refresh_track_records", strategy.pk) in queued
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        strategy_settings_changed(strategy=strategy)
    assert queued == [("strategies.tasks.refresh_track_records", strategy.pk)]
