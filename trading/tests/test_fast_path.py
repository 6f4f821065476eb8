"""The fast path (batches of bots on threads) with two real worker processes racing.

Both processes get every bot of both signals (a batch delivered twice), each
runs its batches on several threads, and the two signals race for the same
allocations: still one order per (bot, signal) at the exchange, no bot past
its allocation, and the account's shared order limit never crossed (no 429).
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.core.cache import cache

from paper.models import PaperOrder
from strategies.models import SignalFill
from strategies.tests.factories import SignalFactory, StrategyFactory
from testing.binance_emulator import BinanceEmulator
from testing.fixtures import binance_emulator  # noqa: F401
from trading.models import Bot, Decision, Order
from trading.sweeper import sweep
from trading.tests.factories import BotFactory
from trading.tests.processes import emulator_env, spawn_together
from vault.tests.factories import CredentialFactory

BOTS = 6
ORDER_LIMIT = 8  # per 10 s on the account, ours and the exchange's: 12 orders need two windows
LIMITS = {"weight_per_minute": 6000, "orders_per_10s": ORDER_LIMIT, "orders_per_day": 160_000}
BATCHES = (
    "import json\nfrom trading.fanout import execute_batch\n"
    "for signal in json.loads({signals!r}): execute_batch(signal, json.loads({bots!r}))\n"
)


@pytest.mark.django_db(transaction=True)
def test_the_batched_path_places_one_order_per_bot_within_allocations_and_the_shared_limit(
    binance_emulator: BinanceEmulator, settings
) -> None:
    binance_emulator.orders_per_10s = ORDER_LIMIT
    settings.EXCHANGE_URL_OVERRIDES = {"binance": binance_emulator.url}
    settings.EXCHANGE_RATE_LIMITS = {**settings.EXCHANGE_RATE_LIMITS, "binance": LIMITS}
    settings.SWEEPER_MIN_AGE_SECONDS = 0
    settings.ORDER_LOOKUP_RETRY_SECONDS = 0
    cache.set("published-limits:binance", LIMITS, 3600)  # as if read from exchangeInfo
    key = binance_emulator.add_key()
    credential = CredentialFactory(exchange_id="binance", api_key=key.api_key, secret=key.secret)
    strategy = StrategyFactory(markets=["BTC/USDT"])
    bots = [
        BotFactory(owner=credential.owner, credential=credential, strategy=strategy,
                   allocation=Decimal("300"))
        for _ in range(BOTS)
    ]  # fmt: skip
    # Two buys of 70 % each: both in full would be 140 % of every allocation.
    signals = [str(SignalFactory(strategy=strategy, fraction=Decimal("0.7")).pk) for _ in "ab"]
    bot_ids = json.dumps([str(bot.pk) for bot in bots])
    env = {
        **emulator_env(binance_emulator.url),
        "EXECUTION_THREADS": "4",
        "EXCHANGE_RATE_LIMITS_OVERRIDE": json.dumps({"binance": LIMITS}),
    }
    spawn_together(
        [
            BATCHES.format(signals=json.dumps(signals), bots=bot_ids),
            BATCHES.format(signals=json.dumps(signals[::-1]), bots=bot_ids),
        ],
        env,
    )
    # What the budget deferred to the next window, the sweeper finishes, as in production.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (
        Decision.objects.filter(outcome="pending").exists()
        or Order.objects.filter(settled=False).exists()
    ):
        sweep(min_age_seconds=0)
        time.sleep(0.5)

    placed = binance_emulator.request_count(path="/api/v3/order", method="POST")
    orders = Order.objects.all()
    assert placed == orders.count() == len({o.exchange_order_id for o in orders})
    for bot in Bot.objects.filter(pk__in=[b.pk for b in bots]):
        per_signal = list(bot.orders.values_list("decision__signal_id", flat=True))
        assert len(per_signal) == len(set(per_signal)) >= 1  # at most one per signal
        spent = sum((o.cost for o in bot.orders.all()), Decimal(0))
        assert spent <= bot.allocation and bot.cash >= 0
        assert not bot.orders.filter(settled=False).exists()
    assert Decision.objects.filter(outcome="executed").count() == placed
    binance_emulator.assert_within_limits()  # not one 429: the shared limit held
    # Strategy feedback was recorded per batch, once per fill.
    assert SignalFill.objects.count() == sum(o.fills.count() for o in orders)
    cache.delete("published-limits:binance")


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_bulk_batches_place_one_order_per_bot_within_allocations(
    settings,
) -> None:
    # Each bot on its own paper account (the bulk path's common case): both processes
    # take the whole batch through one multi-row lock; the two 70 % signals race.
    settings.SWEEPER_MIN_AGE_SECONDS = 0
    strategy = StrategyFactory(markets=["BTC/USDT"])
    bots = [BotFactory(strategy=strategy, allocation=Decimal("300")) for _ in range(BOTS * 2)]
    signals = [str(SignalFactory(strategy=strategy, fraction=Decimal("0.7")).pk) for _ in "ab"]
    bot_ids = json.dumps([str(bot.pk) for bot in bots])
    outputs = spawn_together(
        [
            BATCHES.format(signals=json.dumps(signals), bots=bot_ids),
            BATCHES.format(signals=json.dumps(signals[::-1]), bots=bot_ids),
        ],
        {"EXECUTION_THREADS": "4"},
    )
    assert not any("Bulk execution" in output for output in outputs)  # the bulk path ran
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        Decision.objects.filter(outcome="pending").exists()
        or Order.objects.filter(settled=False).exists()
    ):
        sweep(min_age_seconds=0)
        time.sleep(0.5)

    orders = Order.objects.all()
    assert PaperOrder.objects.count() == orders.count() == len({o.client_order_id for o in orders})
    for bot in Bot.objects.filter(pk__in=[b.pk for b in bots]):
        per_signal = list(bot.orders.values_list("decision__signal_id", flat=True))
        assert len(per_signal) == len(set(per_signal)) >= 1  # at most one per signal
        spent = sum((o.cost for o in bot.orders.all()), Decimal(0))
        assert spent <= bot.allocation and bot.cash >= 0
        assert not bot.orders.filter(settled=False).exists()
    # Exactly one decision per (bot, signal), every one decided.
    assert Decision.objects.count() == len(bots) * 2
    assert not Decision.objects.filter(outcome="pending").exists()
    assert SignalFill.objects.count() == sum(o.fills.count() for o in orders)
