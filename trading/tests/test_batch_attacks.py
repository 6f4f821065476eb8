"""The bulk path under forged, replayed and misdirected signals and task arguments: the
same refusals as the per-bot path, no order, and a clear outcome for every bot."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from strategies.tests.factories import SignalFactory, StrategyFactory
from trading.fanout import execute_batch
from trading.models import Decision, Order
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db


def _bots(n: int = 3):
    strategy = StrategyFactory(markets=["BTC/USDT"])
    return strategy, [BotFactory(strategy=strategy) for _ in range(n)]


def _reasons(signal) -> set[str]:
    return set(Decision.objects.filter(signal=signal).values_list("reason", flat=True))


def test_a_forged_signal_places_nothing_for_any_bot_of_the_batch() -> None:
    strategy, bots = _bots()
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", fraction=Decimal("0.2"))
    type(signal).objects.filter(pk=signal.pk).update(fraction=Decimal("1"))
    assert execute_batch(str(signal.pk), [str(b.pk) for b in bots]) == {"ignored": 3}
    assert _reasons(signal) == {"bad_signature"} and not Order.objects.exists()


def test_a_stale_signal_places_nothing() -> None:
    strategy, bots = _bots()
    old = timezone.now() - dt.timedelta(days=3)
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", created_at=old)
    assert execute_batch(str(signal.pk), [str(b.pk) for b in bots]) == {"ignored": 3}
    assert _reasons(signal) == {"stale"} and not Order.objects.exists()


def test_a_replayed_batch_places_no_second_order() -> None:
    strategy, bots = _bots()
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", fraction=Decimal("0.2"))
    ids = [str(b.pk) for b in bots]
    assert execute_batch(str(signal.pk), ids) == {"executed": 3}
    execute_batch(str(signal.pk), ids)
    execute_batch(str(signal.pk), list(reversed(ids)))
    assert Order.objects.count() == 3
    assert Decision.objects.filter(signal=signal).count() == 3


def test_bots_of_another_strategy_slipped_into_a_batch_are_refused() -> None:
    strategy, bots = _bots(2)
    _, strangers = _bots(2)
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", fraction=Decimal("0.2"))
    outcome = execute_batch(str(signal.pk), [str(b.pk) for b in bots + strangers])
    assert outcome == {"executed": 2, "ignored": 2}
    assert set(Decision.objects.filter(bot__in=strangers).values_list("reason", flat=True)) == {
        "wrong_strategy"
    }
    assert not Order.objects.filter(bot__in=strangers).exists()


def test_unknown_or_malformed_ids_in_the_task_arguments_are_not_a_crash() -> None:
    strategy, bots = _bots(1)
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", fraction=Decimal("0.2"))
    ids = [str(bots[0].pk), str(uuid.uuid4()), "not-a-uuid", "", "1 OR 1=1"]
    outcome = execute_batch(str(signal.pk), ids)
    assert outcome.get("executed") == 1
    assert Order.objects.count() == 1
    # An unknown signal: every bot's execution fails cleanly, nothing is placed.
    execute_batch(str(uuid.uuid4()), [str(bots[0].pk)])
    assert Order.objects.count() == 1
