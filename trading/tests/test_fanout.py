from __future__ import annotations

import pytest

from strategies.hooks import SIGNAL_RECEIVERS, signals_emitted
from strategies.tests.factories import SignalFactory
from trading.fanout import fan_out
from trading.models import Decision
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db


def test_trading_listens_to_new_signals() -> None:
    assert fan_out in SIGNAL_RECEIVERS


def test_one_task_per_active_subscribed_bot_with_ids_only(monkeypatch) -> None:
    queued: list[tuple] = []
    monkeypatch.setattr("trading.fanout.async_task", lambda *args: queued.append(args))
    running = BotFactory()
    BotFactory(strategy=running.strategy, status="paused")
    BotFactory()  # another strategy
    signal = SignalFactory(strategy=running.strategy)
    assert fan_out([str(signal.pk)]) == 1
    assert queued == [("trading.tasks.execute_signal", str(running.pk), str(signal.pk))]


def test_emitted_signals_reach_every_bot_once() -> None:
    bot = BotFactory()
    other = BotFactory(strategy=bot.strategy)
    signal = SignalFactory(strategy=bot.strategy, action="hold")
    signals_emitted([str(signal.pk)])
    signals_emitted([str(signal.pk)])  # delivered twice: still one decision per bot
    assert Decision.objects.filter(signal=signal).count() == 2
    assert set(Decision.objects.values_list("bot_id", flat=True)) == {bot.pk, other.pk}
