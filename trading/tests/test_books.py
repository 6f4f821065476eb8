"""A bot's book updated from its new fills only equals a replay of all its fills."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal as D

import pytest

from trading.models import Bot, Fill, Order
from trading.sync import rebuild_book, update_book
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_ids = itertools.count()


def _fill(bot: Bot, side: str, amount: str, price: str, fee: str, minutes: int) -> Fill:
    n = next(_ids)
    order = Order.objects.create(
        bot=bot, credential=bot.credential, exchange_id="paper", market="BTC/USDT", side=side,
        amount=D(amount), client_order_id=f"book-{n}", status="closed", filled=D(amount),
    )  # fmt: skip
    return Fill.objects.create(
        order=order, credential=bot.credential, trade_id=f"t{n}", amount=D(amount),
        price=D(price), fee=D(fee), fee_currency="USDT",
        taken_at=START + dt.timedelta(minutes=minutes),
    )  # fmt: skip


FIGURES = ("cash", "realised_pnl", "unrealised_pnl", "fees_paid", "equity", "peak_equity",
           "max_drawdown")  # fmt: skip


def _figures(bot: Bot) -> tuple:
    bot.refresh_from_db()
    positions = sorted(bot.positions.values_list("market", "amount", "avg_entry"))
    return tuple(getattr(bot, name) for name in FIGURES), positions


def test_the_incremental_book_equals_a_full_replay_after_every_sync() -> None:
    bot = BotFactory(allocation=D("10000"))
    rounds = [
        [("buy", "0.05", "60000", "3.0"), ("buy", "0.03", "61234.5678", "1.83703703")],
        [("sell", "0.02", "62000.1", "1.240002")],
        [("buy", "0.011", "59876.54321", "0.65864197"), ("sell", "0.07", "58000", "4.06")],
        [("buy", "0.3333", "57777.7777", "19.25733")],
    ]
    minute = 0
    for step, fills in enumerate(rounds):
        for side, amount, price, fee in fills:
            minute += 1
            _fill(bot, side, amount, price, fee, minute)
        mark = {"BTC/USDT": D("59000") + step * 700}
        update_book(bot, mark)
        incremental = _figures(bot)
        rebuild_book(bot, mark)  # the replay of every fill, from the allocation
        assert _figures(bot) == incremental
    assert not Fill.objects.filter(booked=False).exists()


def test_a_fill_older_than_a_booked_one_replays_the_whole_book() -> None:
    bot = BotFactory(allocation=D("10000"))
    _fill(bot, "buy", "0.1", "60000", "0", minutes=10)
    update_book(bot, {"BTC/USDT": D("60000")})
    # A late report of an earlier sell: average cost depends on the order of fills.
    _fill(bot, "buy", "0.1", "50000", "0", minutes=1)
    _fill(bot, "sell", "0.05", "55000", "0", minutes=5)
    update_book(bot, {"BTC/USDT": D("60000")})
    incremental = _figures(bot)
    rebuild_book(bot, {"BTC/USDT": D("60000")})
    assert _figures(bot) == incremental
    assert bot.realised_pnl == D("250")  # (55,000 - 50,000) x 0.05, not against 55,000
