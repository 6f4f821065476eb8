"""A worker killed (SIGKILL, a real second process) between the steps of an order:
after the order request reached the exchange but before its reply was read, and after
the reply was stored but before the bot's books were updated; also a stop-and-sell
killed after its sell went out. Then start-up reconciliation, the sweeper and a new
signal's execution run at once, each in its own process: every decision gets exactly
one order, no fill is lost or booked twice, the allocation holds and nothing stays
reserved. Through the real ccxt Binance client against the emulator, which accepts a
reused client order id once its order is filled, as Binance does."""

from __future__ import annotations

import json
import os
import signal as signals
import subprocess
import sys
import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from paper.models import PaperOrder
from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading.models import Bot, Decision, Fill, Order
from trading.tests.processes import ROOT, database_env, emulator_env, spawn_together
from trading.tests.test_races import RECONCILE, SWEEP, _finish

ORDER = "/api/v3/order"
CLAIM_SECONDS = 3  # a dead worker's lease lapses this soon
EXECUTE = (
    "import json\nfrom trading.execution import execute\n"
    "for bot, signal in json.loads({pairs!r}): execute(bot, signal)\n"
)
# Dies (SIGKILL) once the order's reply is stored, before the bot's books are updated.
DIE_BEFORE_BOOKS = (
    "import trading.orders as orders\n"
    "orders.update_book = lambda *a, **k: __import__('os').kill(__import__('os').getpid(), 9)\n"
)
STOP_AND_SELL = (
    "from trading.models import Bot\nfrom trading.services import bot_wind_down\n"
    "bot_wind_down(bot=Bot.objects.get(pk={bot!r}), sell_positions=True)\n"
)


def _env(emulator: BinanceEmulator) -> dict[str, str]:
    return {
        **os.environ,
        **database_env(),
        **emulator_env(emulator.url),
        "DJANGO_SETTINGS_MODULE": "oneclick.settings",
        "ORDER_CLAIM_SECONDS": str(CLAIM_SECONDS),
        "SWEEPER_MIN_AGE_SECONDS": "0",
        "ORDER_LOOKUP_RETRY_SECONDS": "0",
        "ORDER_LOOKUP_GRACE_SECONDS": "0",
    }


def _start(code: str, emulator: BinanceEmulator) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=_env(emulator),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill_when_the_order_is_carried_out(
    emulator: BinanceEmulator, worker: subprocess.Popen[str]
) -> None:
    """The exchange carries the order out; the worker dies before the reply reaches it."""
    carried_out = threading.Event()

    def hold(body: Any) -> Any:
        carried_out.set()
        time.sleep(1.0)  # the reply is held back until the worker is dead
        return body

    emulator.tamper(ORDER, hold, method="POST")
    assert carried_out.wait(90), worker.communicate(timeout=5)[0]
    worker.send_signal(signals.SIGKILL)
    worker.wait(timeout=30)


def _bought(bot: Bot, emulator: BinanceEmulator) -> None:
    from trading.execution import execute

    buy = SignalFactory(strategy=bot.strategy, fraction=Decimal("0.5"))
    assert execute(bot.pk, buy.pk).outcome == "executed"


def _assert_exact(bot: Bot, emulator: BinanceEmulator, orders: int) -> None:
    bot.refresh_from_db()
    assert emulator.request_count(path=ORDER, method="POST") == orders
    assert Order.objects.filter(bot=bot).count() == orders
    for order in Order.objects.filter(bot=bot):
        assert (order.settled, order.reserved) == (True, Decimal(0)), (order.status, order.error)
        stored = sum((f.amount for f in order.fills.all()), Decimal(0))
        assert stored == order.filled, (order.status, stored, order.filled)
    assert not Fill.objects.filter(bot=bot, booked=False).exists()
    bought = sum(f.amount for f in Fill.objects.filter(bot=bot, order__side="buy"))
    sold = sum(f.amount for f in Fill.objects.filter(bot=bot, order__side="sell"))
    held = bot.positions.get(market="BTC/USDT").amount
    assert held == bought - sold
    assert Decimal(0) <= bot.cash <= bot.allocation
    assert not Decision.objects.filter(bot=bot, outcome="pending").exists()


@pytest.mark.parametrize("point", ["after the request", "before the books"])
def test_a_worker_killed_mid_order_leaves_one_order_per_decision_and_every_fill(
    binance_bot: Bot, emulator: BinanceEmulator, point: str
) -> None:
    first = SignalFactory(strategy=binance_bot.strategy, fraction=Decimal("0.4"))
    pairs = json.dumps([(str(binance_bot.pk), str(first.pk))])
    if point == "after the request":
        worker = _start(EXECUTE.format(pairs=pairs), emulator)
        _kill_when_the_order_is_carried_out(emulator, worker)
    else:
        worker = _start(DIE_BEFORE_BOOKS + EXECUTE.format(pairs=pairs), emulator)
        output = worker.communicate(timeout=90)[0]
        assert worker.returncode == -signals.SIGKILL, output
    assert worker.returncode == -signals.SIGKILL
    order = Order.objects.get()
    assert not order.settled and order.reserved > 0  # left as the dead worker had it
    # Start-up reconciliation, the sweeper and a new signal, all at once.
    second = SignalFactory(strategy=binance_bot.strategy, fraction=Decimal("0.4"))
    new = json.dumps([(str(binance_bot.pk), str(second.pk))])
    time.sleep(CLAIM_SECONDS)
    spawn_together([RECONCILE, SWEEP, EXECUTE.format(pairs=new)], _env(emulator))
    _finish()
    _assert_exact(binance_bot, emulator, orders=2)
    assert list(binance_bot.decisions.values_list("outcome", flat=True)) == ["executed"] * 2


def test_a_stop_and_sell_killed_after_its_sell_went_out_sells_once(
    binance_bot: Bot, emulator: BinanceEmulator
) -> None:
    _bought(binance_bot, emulator)
    worker = _start(STOP_AND_SELL.format(bot=str(binance_bot.pk)), emulator)
    _kill_when_the_order_is_carried_out(emulator, worker)
    Bot.objects.filter(pk=binance_bot.pk).update(status=Bot.Status.STOPPED)
    again = STOP_AND_SELL.format(bot=str(binance_bot.pk))
    time.sleep(CLAIM_SECONDS)
    spawn_together([RECONCILE, again, SWEEP], _env(emulator))
    _finish()
    _assert_exact(binance_bot, emulator, orders=2)  # the buy and one sell
    assert binance_bot.positions.get(market="BTC/USDT").amount == 0


def test_a_batch_worker_killed_while_sending_leaves_one_order_per_bot(
    binance_bots: list[Bot], emulator: BinanceEmulator
) -> None:
    signal = SignalFactory(strategy=binance_bots[0].strategy, fraction=Decimal("0.4"))
    batch = (
        "from trading.fanout import execute_batch\n"
        f"execute_batch({str(signal.pk)!r}, {[str(b.pk) for b in binance_bots]!r})\n"
    )
    worker = _start(batch, emulator)
    _kill_when_the_order_is_carried_out(emulator, worker)
    assert worker.returncode == -signals.SIGKILL
    assert not Order.objects.filter(settled=True).exists()
    time.sleep(CLAIM_SECONDS)
    spawn_together([RECONCILE, SWEEP], _env(emulator))
    _finish()
    for bot in binance_bots:
        bot.refresh_from_db()
        order = Order.objects.get(bot=bot)
        assert (order.status, order.settled) == ("closed", True), (order.status, order.error)
        assert sum(f.amount for f in order.fills.all()) == order.filled == order.amount
        assert bot.positions.get(market=order.market).amount == order.amount
        assert Decimal(0) <= bot.cash <= bot.allocation
        assert bot.decisions.get().outcome == "executed"
        # One order on the exchange per bot: a request the dead worker had sent was
        # looked up, not sent again.
        assert PaperOrder.objects.filter(client_order_id=order.client_order_id).count() == 1
