"""Many bots on ONE exchange account, executed by two worker processes at once.

The request-weight budget is shared through the database (embedded default) or
Redis (production), so the Binance emulator never sees its limit exceeded, and
every bot's order is still placed exactly once. Windows are shortened (5 s on
both sides) so the test waits seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.core.cache import cache

from strategies.tests.factories import SignalFactory, StrategyFactory
from testing.binance_emulator import BinanceEmulator
from trading.models import Decision, Order
from trading.sweeper import sweep
from trading.tests.factories import BotFactory
from trading.tests.processes import ROOT, database_env
from vault.tests.factories import CredentialFactory

OUR_LIMIT = 300  # weight per 5 s window, shared by every process
EMULATOR_LIMIT = 360  # the exchange's; the margin covers requests in flight at a window edge
BOTS = 8
SPEEDUP = 12  # the emulator's minute lasts 5 real seconds


def _worker(pairs: list[tuple[str, str]], emulator: BinanceEmulator) -> subprocess.Popen:
    code = (
        "import json, os; from trading.execution import execute\n"
        "for bot, signal in json.loads(os.environ['PAIRS']): execute(bot, signal)\n"
    )
    limits = {"binance": {"weight_per_minute": OUR_LIMIT, "weight_window": 5,
                          "orders_per_10s": 50, "orders_per_day": 160_000}}  # fmt: skip
    env = {
        **os.environ,
        **database_env(),
        "PAIRS": json.dumps(pairs),
        "EXCHANGE_URL_OVERRIDES": json.dumps({"binance": emulator.url}),
        "EXCHANGE_RATE_LIMITS_OVERRIDE": json.dumps(limits),
        "DJANGO_SETTINGS_MODULE": "oneclick.settings",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_one_budget_and_place_every_order(settings) -> None:
    start = time.time()
    emulator = BinanceEmulator(
        weight_limit=EMULATOR_LIMIT,
        window_clock_ms=lambda: int((time.time() - start) * 1000 * SPEEDUP),
    )
    settings.EXCHANGE_URL_OVERRIDES = {"binance": "set below"}
    settings.EXCHANGE_RATE_LIMITS = {
        **settings.EXCHANGE_RATE_LIMITS,
        "binance": {"weight_per_minute": OUR_LIMIT, "weight_window": 5, "orders_per_10s": 50,
                    "orders_per_day": 160_000},
    }  # fmt: skip
    settings.SWEEPER_MIN_AGE_SECONDS = 0
    settings.ORDER_LOOKUP_RETRY_SECONDS = 0
    with emulator:
        settings.EXCHANGE_URL_OVERRIDES = {"binance": emulator.url}
        # Our budget, as if read from exchangeInfo, for every process (shared cache).
        cache.set(
            "published-limits:binance",
            {"weight_per_minute": OUR_LIMIT, "orders_per_10s": 50, "orders_per_day": 160_000},
            3600,
        )
        key = emulator.add_key()
        credential = CredentialFactory(
            exchange_id="binance", api_key=key.api_key, secret=key.secret
        )
        strategy = StrategyFactory(markets=["BTC/USDT"])
        bots = [
            BotFactory(owner=credential.owner, credential=credential, strategy=strategy,
                       allocation=Decimal("200"))
            for _ in range(BOTS)
        ]  # fmt: skip
        signal = SignalFactory(strategy=strategy, fraction=Decimal("0.5"))
        pairs = [(str(bot.pk), str(signal.pk)) for bot in bots]
        workers = [_worker(pairs[0::2], emulator), _worker(pairs[1::2], emulator)]
        for worker in workers:
            output, _ = worker.communicate(timeout=120)
            assert worker.returncode == 0, output
        # Work the budget deferred is finished by the sweeper, as in production.
        deadline = time.monotonic() + 60
        while Decision.objects.exclude(outcome="executed").exists() and time.monotonic() < deadline:
            sweep()
            time.sleep(0.5)
        emulator.assert_within_limits()
        assert emulator.peak_weight_1m <= EMULATOR_LIMIT
        assert emulator.request_count(path="/api/v3/order", method="POST") == BOTS
    assert Decision.objects.filter(outcome="executed").count() == BOTS
    assert Order.objects.filter(status="closed").count() == BOTS
    assert len(set(Order.objects.values_list("exchange_order_id", flat=True))) == BOTS
    cache.delete("published-limits:binance")
