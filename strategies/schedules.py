"""django-q2 schedules of the strategies, created idempotently after migrate.

One schedule per active strategy runs it every ``interval_minutes`` on period
edges (a minute after a candle closes, when the exchange has it); a strategy
whose newest closed candle was never run gets one catch-up run at once, as a
separate one-off schedule, because django-q counts each next run from the last
one: a recurring schedule started "now" would run off the candle closes for
good. The fixed ones (refit learned models, fail stalled backtests) are listed
in ``oneclick.schedules`` with every other app's. Schedules are looked up by
name, so running this again updates them instead of adding copies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from math import gcd
from typing import Any

from django.db import router
from django.utils import timezone
from django_q.models import Schedule

from oneclick.schedules import STRATEGY_RUNS, ensure_periodic
from strategies.models import Strategy, StrategyRun
from strategies.seed import seed_strategies
from strategies.timeframes import period_start, seconds_of, step

RUN_PREFIX = "strategies: run "
CATCH_UP_PREFIX = "strategies: catch up "
RETRAIN_NAME = "strategies: refit learned models"  # its period: oneclick.schedules
# After a candle closes, give the exchange this long to publish it.
CLOSE_DELAY = timedelta(minutes=1)


def run_schedule_name(strategy: Strategy) -> str:
    return f"{RUN_PREFIX}{strategy.slug}"


def catch_up_schedule_name(strategy: Strategy) -> str:
    return f"{CATCH_UP_PREFIX}{strategy.slug}"


def first_run_at(strategy: Strategy, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return period_start(now, strategy.timeframe) + step(strategy.timeframe) + CLOSE_DELAY


def new_schedule_run_at(strategy: Strategy, now: datetime | None = None) -> datetime:
    """When a new schedule first runs: at once when the newest closed candle has not
    been run yet (a fresh install or a strategy switched on mid-period would otherwise
    leave its bots without a signal for up to a whole period), else at the next close."""
    now = now or timezone.now()
    current = period_start(now, strategy.timeframe) + CLOSE_DELAY
    if current > now:  # the newest candle closed a moment ago: run once it is published
        return current
    if not StrategyRun.objects.filter(strategy=strategy, started_at__gte=current).exists():
        return now
    return first_run_at(strategy, now)


def on_period_edge(strategy: Strategy, when: datetime) -> bool:
    """Whether ``when`` is a run time the strategy's schedule can keep: a candle edge
    (plus the publishing delay) on the grid its interval and timeframe share."""
    grid = gcd(strategy.interval_minutes * 60, seconds_of(strategy.timeframe))
    return (when - CLOSE_DELAY).timestamp() % grid == 0


def strategy_schedule_sync(*, strategy: Strategy, now: datetime | None = None) -> Schedule | None:
    """Create, update or (for an inactive strategy) remove its run schedule; keep its
    next run on a period edge; queue one catch-up run when the newest closed candle
    was never run."""
    now = now or timezone.now()
    name = run_schedule_name(strategy)
    if not strategy.is_active:
        Schedule.objects.filter(name__in=[name, catch_up_schedule_name(strategy)]).delete()
        return None
    task = {
        "func": STRATEGY_RUNS.func,
        "args": repr((strategy.pk,)),
        "schedule_type": Schedule.MINUTES,
        "minutes": strategy.interval_minutes,
        "repeats": -1,
    }
    schedule, created = Schedule.objects.update_or_create(
        name=name,
        defaults=task,
        create_defaults={**task, "next_run": first_run_at(strategy, now)},
    )
    if not created and not on_period_edge(strategy, schedule.next_run):
        # Drifted (an earlier version started it "now", or its interval changed).
        schedule.next_run = first_run_at(strategy, now)
        Schedule.objects.filter(pk=schedule.pk).update(next_run=schedule.next_run)
    if new_schedule_run_at(strategy, now) == now:
        Schedule.objects.update_or_create(
            name=catch_up_schedule_name(strategy),
            defaults={
                "func": STRATEGY_RUNS.func,
                "args": repr((strategy.pk,)),
                "schedule_type": Schedule.ONCE,
                "repeats": -1,
                "next_run": now,
            },
        )
    return schedule


def ensure_schedules() -> None:
    for strategy in Strategy.objects.all():
        strategy_schedule_sync(strategy=strategy)
    # Schedules of strategies deleted since: their task would find nothing to run.
    active = Strategy.objects.filter(is_active=True)
    names = {run_schedule_name(s) for s in active} | {catch_up_schedule_name(s) for s in active}
    Schedule.objects.filter(name__startswith=RUN_PREFIX).exclude(name__in=names).delete()
    Schedule.objects.filter(name__startswith=CATCH_UP_PREFIX).exclude(name__in=names).delete()
    ensure_periodic("strategies")


def after_migrate(*, using: str = "default", apps: Any = None, **kwargs: Any) -> None:
    """post_migrate: seed the default strategies, then their schedules (idempotent)."""
    if not router.allow_migrate_model(using, Strategy):
        return
    if apps is not None:
        try:
            apps.get_model("strategies", "Strategy")
        except LookupError:  # migrated back to before the strategies existed
            return
    seed_strategies()
    ensure_schedules()
