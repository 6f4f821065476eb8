"""Exactly once and within the allocation, with two real worker processes racing.

Each test starts two ``manage.py shell`` processes on the test database at the
same instant (see ``processes.spawn_together``) against the Binance emulator,
which accepts a reused client order id once its order is filled, as Binance
does: so only our own claims keep an order from being placed twice. The orders
are counted where they land, at the emulator.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from strategies.tests.factories import SignalFactory, StrategyFactory
from testing.binance_emulator import BinanceEmulator
from testing.fixtures import binance_emulator  # noqa: F401
from trading.models import Bot, Decision, Order
from trading.sweeper import sweep
from trading.tests.factories import BotFactory
from trading.tests.processes import emulator_env, spawn_together
from vault.tests.factories import CredentialFactory

BOTS = 6
RECONCILE = "from django.core.management import call_command\ncall_command('reconcile_orders')\n"
SWEEP = "from trading.sweeper import sweep\nsweep(min_age_seconds=0)\n"
EXECUTE = (
    "import json\nfrom trading.execution import execute\n"
    "for bot, signal in json.loads({pairs!r}): execute(bot, signal)\n"
)


@pytest.fixture
def emulator(binance_emulator: BinanceEmulator, settings) -> BinanceEmulator:
    settings.EXCHANGE_URL_OVERRIDES = {"binance": binance_emulator.url}
    settings.SWEEPER_MIN_AGE_SECONDS = 0
    settings.ORDER_LOOKUP_RETRY_SECONDS = 0
    return binance_emulator


def _bots(emulator: BinanceEmulator, markets: list[str]) -> list[Bot]:
    key = emulator.add_key()
    credential = CredentialFactory(exchange_id="binance", api_key=key.api_key, secret=key.secret)
    strategy = StrategyFactory(markets=markets)
    return [
        BotFactory(owner=credential.owner, credential=credential, strategy=strategy,
                   markets=markets, allocation=Decimal("1000"))
        for _ in range(BOTS)
    ]  # fmt: skip


def _pending_orders(bots: list[Bot], monkeypatch: pytest.MonkeyPatch) -> int:
    """One written, never sent order per bot: what a worker killed before sending leaves."""
    import trading.execution as execution
    from trading.execution import execute

    signal = SignalFactory(strategy=bots[0].strategy, fraction=Decimal("0.5"))
    with monkeypatch.context() as patched:
        patched.setattr(execution, "advance", lambda order, api=None: None)
        for bot in bots:
            execute(bot.pk, signal.pk)
    assert Order.objects.filter(status="pending").count() == len(bots)
    return len(bots)


def _placed(emulator: BinanceEmulator) -> int:
    return emulator.request_count(path="/api/v3/order", method="POST")


def _finish() -> None:
    """What the scheduled sweeper does afterwards, until nothing is left in progress."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        Decision.objects.filter(outcome="pending").exists()
        or Order.objects.filter(settled=False).exists()
    ):
        sweep(min_age_seconds=0, start_up=True)
        time.sleep(0.2)


def _assert_books_within_allocation(bots: list[Bot]) -> None:
    for bot in Bot.objects.filter(pk__in=[b.pk for b in bots]):
        assert Decimal(0) <= bot.cash <= bot.allocation, (bot.name, bot.cash)


def _race(emulator: BinanceEmulator, *codes: str) -> None:
    spawn_together(list(codes), emulator_env(emulator.url))


def test_two_reconciles_started_together_send_each_pending_order_once(
    emulator, monkeypatch
) -> None:
    # Fails on main before this change: both processes sent the same pending orders.
    bots = _bots(emulator, ["BTC/USDT"])
    expected = _pending_orders(bots, monkeypatch)
    _race(emulator, RECONCILE, RECONCILE)
    assert _placed(emulator) == expected
    _finish()
    assert _placed(emulator) == expected
    assert Order.objects.filter(status="closed", settled=True).count() == expected
    _assert_books_within_allocation(bots)


def test_a_sweep_overlapping_a_start_up_reconcile_sends_each_order_once(
    emulator, monkeypatch
) -> None:
    # Fails on main before this change: the sweep and the reconcile both sent.
    bots = _bots(emulator, ["BTC/USDT"])
    expected = _pending_orders(bots, monkeypatch)
    _race(emulator, SWEEP, RECONCILE)
    _finish()
    assert _placed(emulator) == expected
    assert Decision.objects.filter(outcome="executed").count() == expected
    _assert_books_within_allocation(bots)


def test_the_same_signal_delivered_twice_places_one_order_per_bot(emulator) -> None:
    bots = _bots(emulator, ["BTC/USDT"])
    signal = SignalFactory(strategy=bots[0].strategy, fraction=Decimal("0.5"))
    pairs = json.dumps([(str(bot.pk), str(signal.pk)) for bot in bots])
    _race(emulator, EXECUTE.format(pairs=pairs), EXECUTE.format(pairs=pairs))
    _finish()
    assert _placed(emulator) == BOTS
    assert Decision.objects.filter(outcome="executed").count() == BOTS
    _assert_books_within_allocation(bots)


def test_two_full_buys_of_one_bot_at_once_never_spend_past_the_allocation(emulator) -> None:
    # Fails on main before this change: both buys went out and the bot's cash went to -1000.
    bots = _bots(emulator, ["BTC/USDT", "ETH/USDT"])
    btc = SignalFactory(strategy=bots[0].strategy, market="BTC/USDT", fraction=Decimal(1))
    eth = SignalFactory(strategy=bots[0].strategy, market="ETH/USDT", fraction=Decimal(1))
    first = json.dumps([(str(bot.pk), str(btc.pk)) for bot in bots])
    second = json.dumps([(str(bot.pk), str(eth.pk)) for bot in bots])
    _race(emulator, EXECUTE.format(pairs=first), EXECUTE.format(pairs=second))
    _finish()
    # Each bot's allocation buys one of the two; the other is refused, nothing left for it.
    assert _placed(emulator) == BOTS
    for bot in bots:
        outcomes = sorted(bot.decisions.values_list("outcome", flat=True))
        assert outcomes == ["executed", "ignored"], outcomes
    _assert_books_within_allocation(bots)


def test_two_full_sells_of_one_bot_at_once_never_sell_more_than_it_holds(emulator) -> None:
    from trading.execution import execute

    bots = _bots(emulator, ["BTC/USDT"])
    buy = SignalFactory(strategy=bots[0].strategy, fraction=Decimal("0.5"))
    for bot in bots:
        assert execute(bot.pk, buy.pk).outcome == "executed"
    first, second = (
        SignalFactory(strategy=bots[0].strategy, action="sell", fraction=Decimal(1))
        for _ in range(2)
    )
    pairs = [json.dumps([(str(b.pk), str(s.pk)) for b in bots]) for s in (first, second)]
    _race(emulator, *(EXECUTE.format(pairs=p) for p in pairs))
    _finish()
    assert _placed(emulator) == 2 * BOTS  # each bot's buy and one sell
    for bot in bots:
        assert bot.positions.get(market="BTC/USDT").amount == 0
        outcomes = sorted(bot.decisions.exclude(signal=buy).values_list("outcome", flat=True))
        assert outcomes == ["executed", "ignored"], outcomes
    _assert_books_within_allocation(bots)
