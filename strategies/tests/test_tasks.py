from __future__ import annotations

import pytest

from strategies import tasks
from strategies.models import Backtest, ModelState, Signal, Strategy, StrategyRun
from strategies.tests.factories import BacktestFactory, StrategyFactory

pytestmark = pytest.mark.django_db


def test_an_inactive_strategy_is_not_run_by_its_schedule() -> None:
    strategy = StrategyFactory(is_active=False)
    assert tasks.run_strategy(strategy.pk) == "inactive"
    assert not StrategyRun.objects.exists()


def test_a_deleted_strategy_is_not_run_either() -> None:
    assert tasks.run_strategy(999_999) == "inactive"


def test_the_scheduled_task_runs_the_strategy_on_paper_market_data() -> None:
    strategy = StrategyFactory(params={"fast": 3, "slow": 6, "vol_window": 5}, markets=["SOL/USDT"])
    assert tasks.run_strategy(strategy.pk) == "succeeded: 1 signal(s)"
    assert StrategyRun.objects.get().trigger == StrategyRun.Trigger.SCHEDULE
    assert Signal.objects.filter(strategy=strategy).count() == 1


def test_the_refit_schedule_fans_out_to_each_active_learned_strategy(monkeypatch) -> None:
    params = {"train_window": 100, "min_train": 50}
    learned = StrategyFactory(kind="ml_direction", params=params, markets=["BTC/USDT", "DOGE/USDT"])
    StrategyFactory(kind="ml_direction", params=params, is_active=False)
    StrategyFactory(kind="trend_following")
    Strategy.objects.filter(slug="next-candle").update(is_active=False)
    assert tasks.refit_due_models() == 1
    # Tasks run inline in tests: the good market was fitted, the unknown one logged.
    assert list(ModelState.objects.values_list("strategy_id", "market")) == [
        (learned.pk, "BTC/USDT")
    ]


def test_a_refit_of_a_rule_based_strategy_does_nothing() -> None:
    assert tasks.refit_strategy(StrategyFactory(kind="trend_following").pk) == 0


def test_a_finished_backtest_is_not_run_again() -> None:
    backtest = BacktestFactory()
    assert tasks.run_backtest(str(backtest.pk)) == "done"
    assert Backtest.objects.get(pk=backtest.pk).trades == 12
