from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from strategies.models import Signal, StrategyRun
from strategies.tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db
QUICK = {"fast": 3, "slow": 6, "vol_window": 5}


def test_it_runs_one_strategy_now(capsys) -> None:
    strategy = StrategyFactory(slug="cmd-test", params=QUICK, markets=["BTC/USDT"])
    call_command("run_strategy", "cmd-test")
    assert "cmd-test: Succeeded, 1 signal(s) for 1 market(s)" in capsys.readouterr().out
    assert StrategyRun.objects.get(strategy=strategy).trigger == StrategyRun.Trigger.COMMAND


def test_running_it_twice_in_a_period_says_it_was_already_emitted(capsys) -> None:
    StrategyFactory(slug="cmd-test", params=QUICK, markets=["BTC/USDT"])
    call_command("run_strategy", "cmd-test")
    call_command("run_strategy", "cmd-test")
    assert "BTC/USDT: already emitted for this period" in capsys.readouterr().out
    assert Signal.objects.count() == 1


def test_an_unknown_slug_lists_the_known_ones() -> None:
    with pytest.raises(CommandError, match=r"No strategy 'nope' .*trend-rider"):
        call_command("run_strategy", "nope")


def test_an_inactive_strategy_runs_only_when_asked_explicitly() -> None:
    StrategyFactory(slug="cmd-off", params=QUICK, is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        call_command("run_strategy", "cmd-off")
    call_command("run_strategy", "cmd-off", "--even-if-inactive")
    assert Signal.objects.count() == 1


def test_a_failed_run_prints_its_errors_and_exits_with_an_error(capsys) -> None:
    StrategyFactory(slug="cmd-bad", params=QUICK, markets=["DOGE/USDT"])
    with pytest.raises(CommandError, match="failed"):
        call_command("run_strategy", "cmd-bad")
    assert "DOGE/USDT: BadSymbol" in capsys.readouterr().err
