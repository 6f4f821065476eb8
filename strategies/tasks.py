"""Queue tasks of the strategies: ids in, one service call each."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from strategies.learning import retrain_if_due
from strategies.library import REGISTRY, build_model
from strategies.library.base import LearnedModel
from strategies.models import Backtest, Strategy, StrategyRun
from strategies.runs import describe, strategy_run
from strategies.services import backtest_execute
from strategies.track_records import official_records_refresh

logger = logging.getLogger(__name__)


def run_strategy(strategy_id: int) -> str:
    """Scheduled: one run of an active strategy."""
    strategy = Strategy.objects.filter(pk=strategy_id).first()
    if strategy is None or not strategy.is_active:
        return "inactive"
    run = strategy_run(strategy=strategy, trigger=StrategyRun.Trigger.SCHEDULE)
    return f"{run.status}: {run.signals_emitted} signal(s)"


def refit_due_models() -> int:
    """Scheduled: one refit task per active strategy with a learned model."""
    learned = [key for key, model in REGISTRY.items() if model.learned]
    ids = list(
        Strategy.objects.filter(is_active=True, kind__in=learned).values_list("pk", flat=True)
    )
    for pk in ids:
        async_task("strategies.tasks.refit_strategy", pk)
    return len(ids)


def refit_strategy(strategy_id: int) -> int:
    """Refit each market of a learned strategy that is due; returns how many were refitted."""
    strategy = Strategy.objects.get(pk=strategy_id)
    model = build_model(strategy.kind, strategy.params)
    if not isinstance(model, LearnedModel):
        return 0
    now = timezone.now()
    refitted = 0
    for market in strategy.markets:
        try:
            if retrain_if_due(strategy=strategy, market=market, model=model, now=now):
                refitted += 1
        except Exception as exc:
            # One market's data failing must not keep the others on an old model.
            logger.warning("Refit of %s %s failed: %s", strategy.slug, market, describe(exc))
    return refitted


def run_backtest(backtest_id: str) -> str:
    backtest = Backtest.objects.select_related("strategy").get(pk=backtest_id)
    if backtest.is_finished:
        return backtest.status
    return backtest_execute(backtest=backtest).status


def fail_stalled_backtests() -> int:
    """Scheduled: a backtest whose worker died (no progress for longer than every
    try could take) is marked failed with a clear message instead of "running" for ever."""
    conf = settings.Q_CLUSTER
    horizon = timedelta(seconds=conf["retry"] * (conf["max_attempts"] + 1))
    return Backtest.objects.filter(
        status__in=[Backtest.Status.QUEUED, Backtest.Status.RUNNING],
        updated_at__lt=timezone.now() - horizon,
    ).update(
        status=Backtest.Status.FAILED,
        error="The backtest stopped making progress (its worker died). Run it again.",
        finished_at=timezone.now(),
    )


def refresh_track_records(strategy_id: int) -> str:
    """After a strategy is created or its settings change: its official record again."""
    strategy = Strategy.objects.filter(pk=strategy_id).first()
    if strategy is None:
        return "gone"
    return f"{len(official_records_refresh(strategy=strategy))} record(s)"
