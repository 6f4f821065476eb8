"""Stop-and-sell pressed twice (two wind-down tasks at once), through ccxt against the
Binance emulator: the position is sold once, and nobody is told of a problem."""

from __future__ import annotations

from decimal import Decimal

from django.core import mail

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from testing.threads import run_in_threads
from trading.execution import execute
from trading.models import Bot, Order
from trading.services import bot_stop, bot_wind_down
from trading.tests.test_odd_replies import ORDER


def test_two_stop_and_sells_at_once_sell_the_position_once(
    binance_bot: Bot, emulator: BinanceEmulator, django_capture_on_commit_callbacks
) -> None:
    assert execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk).outcome == (
        "executed"
    )
    held = binance_bot.positions.get().amount
    assert held > 0
    for _ in range(2):
        bot_stop(meta=None, bot=binance_bot, sell_positions=True)
    problems: list[list[str]] = []

    def wind_down(_: int) -> None:
        problems.append(bot_wind_down(bot=Bot.objects.get(pk=binance_bot.pk), sell_positions=True))

    assert run_in_threads(wind_down, 2) == []
    assert problems == [[], []]
    sells = Order.objects.filter(side="sell")
    assert sells.count() == 1
    assert emulator.request_count(path=ORDER, method="POST") == 2  # the buy, one sell
    sell = sells.get()
    assert sell.amount == held
    assert binance_bot.positions.get().amount + (sell.amount - sell.filled) == held - sell.filled
    assert not [m for m in mail.outbox if "problems" in m.subject]


def test_a_buy_that_fills_after_the_stop_and_sell_is_sold_by_the_next_one(
    binance_bot: Bot, emulator: BinanceEmulator
) -> None:
    strategy = binance_bot.strategy
    execute(binance_bot.pk, SignalFactory(strategy=strategy).pk)
    first = binance_bot.positions.get().amount
    # A second buy reaches the exchange but its answer is lost and the lookup fails:
    # in doubt when the owner stops the bot and sells.
    emulator.inject("disconnect", path=ORDER, method="POST", execute=True)
    emulator.inject("server_error", path=ORDER, method="GET")
    late = SignalFactory(strategy=strategy, fraction=Decimal("0.2"))
    execute(binance_bot.pk, late.pk)
    assert Order.objects.get(decision__signal=late).status == "unknown"
    bot_stop(meta=None, bot=binance_bot, sell_positions=True)
    assert bot_wind_down(bot=binance_bot, sell_positions=True) == []
    sold = Order.objects.get(side="sell")
    assert sold.settled and sold.filled == first
    # The lookup finds the buy filled: the stopped bot holds it now.
    from trading.sweeper import sweep

    sweep()
    leftover = binance_bot.positions.get().amount
    assert leftover > 0
    # Stop-and-sell again sells what is left.
    assert bot_wind_down(bot=Bot.objects.get(pk=binance_bot.pk), sell_positions=True) == []
    assert Order.objects.filter(side="sell").count() == 2
    assert binance_bot.positions.get().amount == 0
