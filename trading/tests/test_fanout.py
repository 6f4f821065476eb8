from __future__ import annotations

import time
from decimal import Decimal

import pytest

from paper import faults
from strategies.hooks import SIGNAL_RECEIVERS, signals_emitted
from strategies.tests.factories import SignalFactory
from trading.fanout import execute_batch, fan_out
from trading.models import Decision
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db


def test_trading_listens_to_new_signals() -> None:
    assert fan_out in SIGNAL_RECEIVERS


def test_one_task_per_batch_of_active_subscribed_bots_with_ids_only(monkeypatch, settings) -> None:
    settings.FANOUT_BATCH_SIZE = 2
    queued: list[tuple] = []
    brokers: set[int] = set()

    def enqueue(*args, broker):
        queued.append(args)
        brokers.add(id(broker))

    monkeypatch.setattr("trading.fanout.async_task", enqueue)
    running = [BotFactory()]
    running += [BotFactory(strategy=running[0].strategy) for _ in range(2)]
    BotFactory(strategy=running[0].strategy, status="paused")
    BotFactory()  # another strategy
    signal = SignalFactory(strategy=running[0].strategy)
    assert fan_out([str(signal.pk)]) == 3
    assert [task[0] for task in queued] == ["trading.tasks.execute_batch"] * 2
    assert {task[1] for task in queued} == {str(signal.pk)}
    assert sorted(b for task in queued for b in task[2]) == sorted(str(b.pk) for b in running)
    assert len(brokers) == 1  # every task pushed on one broker connection


def test_a_signal_reaches_only_the_bots_that_trade_its_market() -> None:
    # Fails before: every bot of the strategy got a decision for every market, so a
    # bot of BTC/USDT had its feed filled with "ETH/USDT is not in the bot's market
    # list" (found in the new-user walk: 3 of 4 decisions per run).
    btc = BotFactory(markets=["BTC/USDT"])
    both = BotFactory(strategy=btc.strategy, markets=["BTC/USDT", "ETH/USDT"])
    signal = SignalFactory(strategy=btc.strategy, market="ETH/USDT", action="hold")
    signals_emitted([str(signal.pk)])
    assert list(Decision.objects.values_list("bot_id", flat=True)) == [both.pk]


def test_emitted_signals_reach_every_bot_once() -> None:
    bot = BotFactory()
    other = BotFactory(strategy=bot.strategy)
    signal = SignalFactory(strategy=bot.strategy, action="hold")
    signals_emitted([str(signal.pk)])
    signals_emitted([str(signal.pk)])  # delivered twice: still one decision per bot
    assert Decision.objects.filter(signal=signal).count() == 2
    assert set(Decision.objects.values_list("bot_id", flat=True)) == {bot.pk, other.pk}


def test_a_batch_tries_a_deferred_bot_again_at_its_time_without_the_sweeper(settings) -> None:
    # Fails before this change: the decision waited for the once-a-minute sweep.
    settings.DECISION_RETRY_SECONDS = 1
    bot = BotFactory()
    faults.inject(bot.credential.api_key, "server_error", method="fetch_ticker", times=1)
    signal = SignalFactory(strategy=bot.strategy, market="BTC/USDT", fraction=Decimal("0.2"))
    started = time.monotonic()
    assert execute_batch(str(signal.pk), [str(bot.pk)]) == {"executed": 1}
    assert 1 <= time.monotonic() - started < 10
    decision = Decision.objects.get(bot=bot, signal=signal)
    assert decision.attempts == 1 and decision.order.status == "closed"


def test_a_batch_leaves_a_bot_deferred_past_its_window_to_the_sweeper(settings) -> None:
    settings.DECISION_RETRY_SECONDS = 120
    settings.BATCH_RETRY_SECONDS = 5
    bot = BotFactory()
    faults.inject(bot.credential.api_key, "server_error", method="fetch_ticker", times=1)
    signal = SignalFactory(strategy=bot.strategy, market="BTC/USDT", fraction=Decimal("0.2"))
    started = time.monotonic()
    assert execute_batch(str(signal.pk), [str(bot.pk)]) == {"pending": 1}
    assert time.monotonic() - started < 5
