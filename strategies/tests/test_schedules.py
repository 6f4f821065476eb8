from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from strategies.models import Strategy
from strategies.schedules import (
    CATCH_UP_PREFIX,
    RETRAIN_NAME,
    RUN_PREFIX,
    after_migrate,
    catch_up_schedule_name,
    ensure_schedules,
    first_run_at,
    new_schedule_run_at,
    run_schedule_name,
    strategy_schedule_sync,
)
from strategies.seed import DEFAULT_STRATEGIES
from strategies.tests.factories import StrategyFactory, StrategyRunFactory

pytestmark = pytest.mark.django_db


def run_schedules() -> dict[str, Schedule]:
    return {s.name: s for s in Schedule.objects.filter(name__startswith=RUN_PREFIX)}


def test_migrate_creates_a_run_schedule_per_active_strategy_and_the_refit_schedule() -> None:
    Schedule.objects.all().delete()
    call_command("migrate", verbosity=0)
    names = set(run_schedules())
    assert names == {f"{RUN_PREFIX}{d['slug']}" for d in DEFAULT_STRATEGIES}
    refit = Schedule.objects.get(name=RETRAIN_NAME)
    assert (refit.func, refit.minutes, refit.repeats) == (
        "strategies.tasks.refit_due_models",
        60,
        -1,
    )
    schedule = Schedule.objects.get(name=f"{RUN_PREFIX}trend-rider")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "strategies.tasks.run_strategy", Schedule.MINUTES, 240,
    )  # fmt: skip


def test_running_it_again_updates_instead_of_adding_copies() -> None:
    ensure_schedules()
    count = Schedule.objects.count()
    strategy = Strategy.objects.get(slug="trend-rider")
    Strategy.objects.filter(pk=strategy.pk).update(interval_minutes=60)
    ensure_schedules()
    assert Schedule.objects.count() == count
    assert Schedule.objects.get(name=run_schedule_name(strategy)).minutes == 60


def test_a_rerun_keeps_the_next_run_time_it_had() -> None:
    strategy = StrategyFactory()
    schedule = strategy_schedule_sync(strategy=strategy)
    assert schedule is not None
    later = datetime(2030, 1, 1, 0, 1, tzinfo=UTC)  # a candle close, a minute on
    Schedule.objects.filter(pk=schedule.pk).update(next_run=later)
    strategy_schedule_sync(strategy=strategy)
    assert Schedule.objects.get(pk=schedule.pk).next_run == later


def test_the_first_run_is_just_after_the_next_candle_closes() -> None:
    strategy = StrategyFactory(timeframe="4h")
    when = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
    assert first_run_at(strategy, when) == datetime(2025, 3, 10, 16, 1, tzinfo=UTC)


def test_a_new_schedule_runs_at_once_when_the_newest_closed_candle_was_not_run() -> None:
    """A fresh install at 12:30 waited until 16:01 for its first signal, so its first
    bots, "joining the current position", found none (new-user walk)."""
    strategy = StrategyFactory(timeframe="4h")
    when = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
    assert new_schedule_run_at(strategy, when) == when
    schedule = strategy_schedule_sync(strategy=strategy, now=when)
    catch_up = Schedule.objects.get(name=catch_up_schedule_name(strategy))
    assert (catch_up.next_run, catch_up.schedule_type, catch_up.repeats) == (
        when,
        Schedule.ONCE,
        -1,
    )
    assert (catch_up.func, catch_up.args) == ("strategies.tasks.run_strategy", f"({strategy.pk},)")
    assert schedule is not None and schedule.next_run == datetime(2025, 3, 10, 16, 1, tzinfo=UTC)


def test_the_recurring_run_stays_on_candle_closes_after_a_catch_up_run() -> None:
    """The catch-up run used to be the recurring schedule's first run: django-q counts
    each next run from the last, so a fresh install at 12:30 ran at 16:30, 20:30, ...
    for good, 3.5 h after each candle closed (walk5: 'next signal at 19:43')."""
    strategy = StrategyFactory(timeframe="4h")
    when = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
    schedule = strategy_schedule_sync(strategy=strategy, now=when)
    assert schedule is not None
    runs = [schedule.next_run]
    for _ in range(3):
        runs.append(schedule.calculate_next_run(runs[-1]))
    assert [run.strftime("%H:%M") for run in runs] == ["16:01", "20:01", "00:01", "04:01"]


def test_a_schedule_that_drifted_off_the_candle_closes_is_put_back_on_them() -> None:
    strategy = StrategyFactory(timeframe="4h")
    StrategyRunFactory(strategy=strategy, started_at=datetime(2025, 3, 10, 16, 1, tzinfo=UTC))
    now = datetime(2025, 3, 10, 17, 0, tzinfo=UTC)
    schedule = strategy_schedule_sync(strategy=strategy, now=now)
    assert schedule is not None
    drifted = datetime(2025, 3, 10, 19, 43, tzinfo=UTC)
    Schedule.objects.filter(pk=schedule.pk).update(next_run=drifted)
    strategy_schedule_sync(strategy=strategy, now=now)
    assert Schedule.objects.get(pk=schedule.pk).next_run == datetime(2025, 3, 10, 20, 1, tzinfo=UTC)
    assert not Schedule.objects.filter(name=catch_up_schedule_name(strategy)).exists()


def test_an_hourly_run_of_a_4h_strategy_keeps_its_hourly_edges() -> None:
    strategy = StrategyFactory(timeframe="4h", interval_minutes=60)
    schedule = strategy_schedule_sync(strategy=strategy)
    assert schedule is not None
    on_edge = datetime(2030, 1, 1, 5, 1, tzinfo=UTC)
    Schedule.objects.filter(pk=schedule.pk).update(next_run=on_edge)
    strategy_schedule_sync(strategy=strategy)
    assert Schedule.objects.get(pk=schedule.pk).next_run == on_edge


def test_a_new_schedule_waits_for_the_next_close_when_this_period_already_ran() -> None:
    strategy = StrategyFactory(timeframe="4h")
    StrategyRunFactory(strategy=strategy, started_at=datetime(2025, 3, 10, 12, 1, tzinfo=UTC))
    when = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
    assert new_schedule_run_at(strategy, when) == datetime(2025, 3, 10, 16, 1, tzinfo=UTC)


def test_a_new_schedule_right_after_a_close_waits_for_the_candle_to_be_published() -> None:
    strategy = StrategyFactory(timeframe="4h")
    when = datetime(2025, 3, 10, 12, 0, 20, tzinfo=UTC)
    assert new_schedule_run_at(strategy, when) == datetime(2025, 3, 10, 12, 1, tzinfo=UTC)


def test_inactive_and_deleted_strategies_have_no_schedule() -> None:
    inactive = StrategyFactory(is_active=False)
    gone = StrategyFactory()
    strategy_schedule_sync(strategy=gone)
    gone_name = run_schedule_name(gone)
    gone.delete()
    ensure_schedules()
    assert run_schedule_name(inactive) not in run_schedules()
    assert gone_name not in run_schedules()
    assert (
        not Schedule.objects.filter(name__startswith=CATCH_UP_PREFIX)
        .exclude(
            name__in=[catch_up_schedule_name(s) for s in Strategy.objects.filter(is_active=True)]
        )
        .exists()
    )


class OnlyDefault:
    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool:
        return db == "default"


def test_migrating_another_database_touches_nothing_here(settings) -> None:
    # The embedded setup migrates a second database for the channel layer.
    settings.DATABASE_ROUTERS = [f"{__name__}.OnlyDefault"]
    Schedule.objects.all().delete()
    Strategy.objects.all().delete()
    after_migrate(using="channels")
    assert not Schedule.objects.exists() and not Strategy.objects.exists()
    after_migrate(using="default")
    assert Strategy.objects.count() == len(DEFAULT_STRATEGIES)


def test_the_schedule_task_argument_is_the_strategy_id_only() -> None:
    strategy = StrategyFactory()
    schedule = strategy_schedule_sync(strategy=strategy)
    assert schedule is not None
    assert schedule.args == f"({strategy.pk},)" and schedule.kwargs in (None, "")
