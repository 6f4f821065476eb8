"""The bulk fast path (``trading.batch``): a batch costs a bounded number of queries."""

from __future__ import annotations

import asyncio
import contextlib
import re
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from strategies.tests.factories import SignalFactory, StrategyFactory
from trading.events import user_group
from trading.fanout import execute_batch
from trading.models import Bot, Decision, Fill, Order
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db
# Tables of what the platform talks to, not of the platform's own bookkeeping: the paper
# exchange (the "exchange", in-process), the shared rate budgets and the shared cache
# (Redis in production, database tables in the embedded default) and the channel layer.
# Savepoints are theirs too (nested atomic blocks inside the test's transaction).
OUTSIDE = re.compile(
    r'"(paper_\w+|trading_ratewindow|oneclick_cache|channels_lite_\w+)"|^(RELEASE )?SAVEPOINT'
)
PER_BATCH_LIMIT = 40
# Queries per bot outside the platform's bookkeeping, SQLite embedded default: measured
# ~33 (the paper exchange ~13 and its savepoints ~9, rate windows ~7, shared cache ~4.5).
PER_BOT_OUTSIDE_LIMIT = 36


def _platform_queries(bots: int) -> tuple[int, int]:
    """(queries of the platform's bookkeeping, all queries) for one batch of ``bots``."""
    strategy = StrategyFactory(markets=["BTC/USDT"])
    ids = [str(BotFactory(strategy=strategy).pk) for _ in range(bots)]  # an account each
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", fraction=Decimal("0.5"))
    with CaptureQueriesContext(connection) as captured:
        assert execute_batch(str(signal.pk), ids) == {"executed": bots}
    own = [q for q in captured.captured_queries if not OUTSIDE.search(q["sql"])]
    return len(own), len(captured.captured_queries)


def test_a_batch_of_forty_bots_costs_the_platform_as_many_queries_as_a_batch_of_ten() -> None:
    small, small_all = _platform_queries(10)
    large, large_all = _platform_queries(40)
    # The same statements for 10 and 40 bots (~38; the per-bot path made ~80 per bot);
    # a bulk insert may be cut in one more chunk (SQLite's bound-variable limit).
    assert small <= large <= small + 2 and large <= PER_BATCH_LIMIT
    # What grows per bot is the exchange's and the shared stores' share (each bot here has
    # its own paper account: its own order budget, client preparation, paper rows).
    assert (large_all - small_all) / 30 <= PER_BOT_OUTSIDE_LIMIT


def test_a_batch_places_one_order_per_bot_and_books_it_like_the_per_bot_path() -> None:
    strategy = StrategyFactory(markets=["BTC/USDT"])
    bots = [BotFactory(strategy=strategy, allocation=Decimal("500")) for _ in range(5)]
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", fraction=Decimal("0.4"))
    ids = [str(b.pk) for b in bots]
    assert execute_batch(str(signal.pk), ids) == {"executed": 5}
    assert execute_batch(str(signal.pk), ids) == {"executed": 5}  # delivered twice: no new order
    assert Order.objects.count() == 5 and Decision.objects.filter(outcome="executed").count() == 5
    for bot in Bot.objects.filter(pk__in=ids):
        order = bot.orders.get()
        assert order.settled and order.status == "closed" and order.reserved == 0
        assert not Fill.objects.filter(order=order, booked=False).exists()
        position = bot.positions.get(market="BTC/USDT")
        assert position.amount == order.filled > 0
        assert bot.cash == bot.allocation - order.cost - sum(f.fee for f in order.fills.all())
        assert order.cost <= Decimal("0.4") * bot.allocation


def test_a_booked_batch_ends_its_lease_and_settles_its_decisions_in_the_booking_write() -> None:
    # Before: one more UPDATE of every placed order (the lease) and one more read of
    # every placed bot's decision after the booking had already written both.
    strategy = StrategyFactory(markets=["BTC/USDT"])
    other = StrategyFactory(markets=["BTC/USDT"])
    bots = [BotFactory(strategy=strategy) for _ in range(4)]
    stray = BotFactory(strategy=other)  # a bot of another strategy in the batch: refused
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", fraction=Decimal("0.3"))
    with CaptureQueriesContext(connection) as captured:
        outcomes = execute_batch(str(signal.pk), [str(b.pk) for b in [*bots, stray]])
    assert outcomes == {"executed": 4, "ignored": 1}
    own = [q["sql"] for q in captured.captured_queries if not OUTSIDE.search(q["sql"])]
    assert not [sql for sql in own if sql.startswith('UPDATE "trading_order" SET "claimed_until"')]
    assert not [
        sql
        for sql in own
        if sql.startswith('SELECT "trading_decision"."bot_id", "trading_decision"."outcome"')
    ]
    assert not Order.objects.filter(claimed_until__isnull=False).exists()
    assert Decision.objects.get(bot=stray).reason == "wrong_strategy"
    assert set(Decision.objects.filter(bot__in=bots).values_list("outcome", flat=True)) == {
        "executed"
    }


def test_a_batch_sizes_targets_like_the_per_bot_path_in_each_market_of_a_bot() -> None:
    # Fails before the batch passed the target's side, sleeves and what the bot holds
    # elsewhere: it sent a "target" side and sized each market against free cash only.
    strategy = StrategyFactory(markets=["BTC/USDT", "ETH/USDT"])
    bots = [BotFactory(strategy=strategy, markets=["BTC/USDT", "ETH/USDT"]) for _ in range(3)]
    ids = [str(b.pk) for b in bots]
    for market in ("BTC/USDT", "ETH/USDT"):
        signal = SignalFactory(
            strategy=strategy, market=market, action="target", fraction=Decimal(1)
        )
        assert execute_batch(str(signal.pk), ids) == {"executed": 3}, market
    for bot in Bot.objects.filter(pk__in=ids):
        for order in bot.orders.all():
            spent = order.cost + sum(f.fee for f in order.fills.all())
            assert order.side == "buy" and Decimal("480") < spent <= Decimal("500"), order
            assert {fill.bot_id for fill in order.fills.all()} == {bot.pk}
    # Half of each market's share: every bot sells about half of each position.
    signal = SignalFactory(
        strategy=strategy, market="BTC/USDT", action="target", fraction=Decimal("0.5")
    )
    assert execute_batch(str(signal.pk), ids) == {"executed": 3}
    assert Order.objects.filter(side="sell", market="BTC/USDT").count() == 3


def _layer() -> Any:
    layer = get_channel_layer()
    assert layer is not None
    return layer


def _received(channel: str) -> list[dict[str, Any]]:
    layer = _layer()

    async def drain() -> list[dict[str, Any]]:
        messages = []
        with contextlib.suppress(TimeoutError):
            while True:
                messages.append(await asyncio.wait_for(layer.receive(channel), 0.2))
        return messages

    return async_to_sync(drain)()


def test_a_batch_pushes_once_per_owner_with_all_of_their_orders_and_decisions(
    django_capture_on_commit_callbacks,
) -> None:
    strategy = StrategyFactory(markets=["BTC/USDT"])
    first = BotFactory(strategy=strategy)
    bots = [first, BotFactory(strategy=strategy, owner=first.owner), BotFactory(strategy=strategy)]
    layer = _layer()
    channels = {}
    for owner_id in {bot.owner_id for bot in bots}:
        channels[owner_id] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(user_group(owner_id), channels[owner_id])
    signal = SignalFactory(strategy=strategy, market="BTC/USDT", fraction=Decimal("0.3"))
    with django_capture_on_commit_callbacks(execute=True):
        assert execute_batch(str(signal.pk), [str(b.pk) for b in bots]) == {"executed": 3}
    for owner_id, channel in channels.items():
        (message,) = _received(channel)  # one push for the whole batch
        assert message["event"] == "batch"
        owned = sorted(str(b.pk) for b in bots if b.owner_id == owner_id)
        assert sorted(o["bot"] for o in message["data"]["orders"]) == owned
        assert sorted(d["bot"] for d in message["data"]["decisions"]) == owned
        assert {d["outcome"] for d in message["data"]["decisions"]} == {"executed"}
