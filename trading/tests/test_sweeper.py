from __future__ import annotations

import pytest
from django.core.management import call_command

from paper import faults
from strategies.tests.factories import SignalFactory
from trading.execution import execute
from trading.models import Decision, Order
from trading.sweeper import sweep
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db


def test_young_work_is_left_to_the_worker_holding_it(settings) -> None:
    settings.SWEEPER_MIN_AGE_SECONDS = 3600
    bot = BotFactory()
    faults.inject(bot.credential.api_key, "lost_reply", method="create_order")
    faults.inject(bot.credential.api_key, "timeout", method="fetch_order")
    execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    assert Order.objects.get().status == "unknown"
    assert sweep() == {"orders": 0, "decisions": 0, "missing": 0}


def test_at_start_up_every_order_in_doubt_is_settled(capsys) -> None:
    bot = BotFactory()
    faults.inject(bot.credential.api_key, "lost_reply", method="create_order")
    faults.inject(bot.credential.api_key, "timeout", method="fetch_order")
    execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    assert Order.objects.get().status == "unknown"
    call_command("reconcile_orders")
    assert "Reconciled 1 order(s)" in capsys.readouterr().out
    assert Order.objects.get().status in ("open", "closed")
    assert Decision.objects.get().outcome == "executed"
