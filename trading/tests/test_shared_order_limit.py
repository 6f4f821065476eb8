"""One exchange account, two worker processes and the sweeper at once: the account's
order limit (Binance: orders per 10 s, -1015 past it) is shared by every process, so
the exchange never refuses an order for it, and every bot's order is placed once.
Through the real ccxt Binance client against the emulator; its published limit is
low (5 per 10 s) so the test needs seconds, not thousands of orders."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.core.cache import cache

from strategies.tests.factories import SignalFactory, StrategyFactory
from testing.binance_emulator import BinanceEmulator
from trading.models import Decision, Order
from trading.sweeper import sweep
from trading.tests.factories import BotFactory
from trading.tests.processes import emulator_env, spawn_together
from vault.tests.factories import CredentialFactory

BOTS = 12
ORDERS_PER_10S = 5
EXECUTE = (
    "import json\nfrom trading.execution import execute\n"
    "for bot, signal in json.loads({pairs!r}): execute(bot, signal)\n"
)
SWEEPS = (
    "import time\nfrom trading.sweeper import sweep\n"
    "for _ in range(10):\n    sweep(min_age_seconds=0)\n    time.sleep(0.5)\n"
)


@pytest.mark.django_db(transaction=True)
def test_two_workers_and_the_sweeper_share_the_accounts_order_limit(settings) -> None:
    settings.SWEEPER_MIN_AGE_SECONDS = 0
    settings.ORDER_LOOKUP_RETRY_SECONDS = 0
    emulator = BinanceEmulator(orders_per_10s=ORDERS_PER_10S)
    emulator.latency_ms = 40  # a request counted at a window's end arrives in the next
    with emulator:
        settings.EXCHANGE_URL_OVERRIDES = {"binance": emulator.url}
        key = emulator.add_key()
        credential = CredentialFactory(
            exchange_id="binance", api_key=key.api_key, secret=key.secret
        )
        strategy = StrategyFactory(markets=["BTC/USDT"])
        bots = [
            BotFactory(owner=credential.owner, credential=credential, strategy=strategy,
                       allocation=Decimal("100"))
            for _ in range(BOTS)
        ]  # fmt: skip
        signal = SignalFactory(strategy=strategy, fraction=Decimal("0.5"))
        pairs = [(str(bot.pk), str(signal.pk)) for bot in bots]
        spawn_together(
            [
                EXECUTE.format(pairs=json.dumps(pairs[0::2])),
                EXECUTE.format(pairs=json.dumps(pairs[1::2])),
                SWEEPS,
            ],
            emulator_env(emulator.url),
        )
        deadline = time.monotonic() + 90
        while Decision.objects.exclude(outcome="executed").exists() and time.monotonic() < deadline:
            Order.objects.update(next_attempt_at=None)
            Decision.objects.update(next_attempt_at=None)
            sweep(min_age_seconds=0)
            time.sleep(0.5)
        assert emulator.rate_limited == 0, "the exchange refused orders past its limit (-1015)"
        assert emulator.request_count(path="/api/v3/order", method="POST") == BOTS
    assert Decision.objects.filter(outcome="executed").count() == BOTS
    assert Order.objects.filter(status="closed", settled=True).count() == BOTS
    cache.delete("published-limits:binance")
