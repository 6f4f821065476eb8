"""Odd figures at the edges where no order exists yet: a ticker's price, a free
balance, the 24 h trade costs of the activity watch. Each is a clear answer, never
an exception out of the task or the page (the paper exchange, its replies rewritten
at the one boundary that asks it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from strategies.tests.factories import SignalFactory
from trading import market_cache, services, watch
from trading.execution import execute
from trading.fanout import execute_batch
from trading.models import Order
from trading.services import BotRefused, bot_set_allocation
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db


def _ticker(last: Any):
    def snapshot(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"symbol": "BTC/USDT", "last": last}

    return snapshot


@pytest.mark.parametrize(
    ("last", "outcome"),
    [(None, "ignored"), (float("nan"), "pending"), ("Infinity", "pending"), ("n/a", "pending")],
)
def test_a_ticker_without_a_readable_price_places_nothing_and_says_why(
    monkeypatch, last: Any, outcome: str
) -> None:
    monkeypatch.setattr(market_cache, "ticker_snapshot", _ticker(last))
    bot = BotFactory()
    decision = execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    assert decision.outcome == outcome and decision.message
    assert not Order.objects.exists()


def test_a_batch_whose_ticker_has_no_readable_price_places_nothing(monkeypatch) -> None:
    monkeypatch.setattr(market_cache, "ticker_snapshot", _ticker(float("nan")))
    bot = BotFactory()
    signal = SignalFactory(strategy=bot.strategy)
    assert execute_batch(str(signal.pk), [str(bot.pk)]) == {"pending": 1}
    assert not Order.objects.exists()


@pytest.mark.parametrize("free", [float("nan"), "Infinity", "-5", "lots"])
def test_an_unreadable_free_balance_refuses_a_raise_with_a_clear_message(
    monkeypatch, free: Any
) -> None:
    bot = BotFactory(allocation=Decimal("1000"))
    monkeypatch.setattr(
        services,
        "with_limits",
        lambda *a, **k: lambda method, *args, **kw: {"USDT": {"free": free, "total": free}},
    )
    with pytest.raises(BotRefused, match="Could not read your balance"):
        bot_set_allocation(meta=None, bot=bot, allocation=Decimal("2000"))
    bot.refresh_from_db()
    assert bot.allocation == Decimal("1000")


@pytest.mark.parametrize("cost", [float("nan"), "Infinity", "lots"])
def test_an_unreadable_trade_cost_skips_the_activity_check(monkeypatch, cost: Any) -> None:
    bot = BotFactory(allocation=Decimal("1000"))
    bot.positions.create(market="BTC/USDT", amount=Decimal("0.01"), avg_entry=Decimal("60000"))
    monkeypatch.setattr(
        watch,
        "with_limits",
        lambda *a, **k: lambda method, *args, **kw: [{"cost": 5}, {"cost": cost}],
    )
    assert watch.check_account(bot.credential) == "skipped"


@pytest.mark.parametrize("stamp", [253402300799999, 32503680000000])  # 9999-12-31, 3000-01-01
def test_a_trade_dated_past_the_year_2999_is_not_a_fill(stamp: int) -> None:
    # Failed before: booked, and the admin's fill page was then a 500 for staff east of
    # UTC (the year 10000 there). Skipped, the order is synced again until it is sane.
    from trading.sync import fill_of
    from trading.tests.factories import OrderFactory

    order = OrderFactory()
    trade = {"id": "t1", "amount": "0.01", "price": "60000", "timestamp": stamp}
    with pytest.raises(ValueError, match="without a time"):
        fill_of(order, trade)
    assert fill_of(order, {**trade, "timestamp": 1_764_000_000_000}).taken_at.year == 2025
