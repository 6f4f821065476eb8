"""Each open position valued at the price the bot's own totals were marked with.

The bot page lists, per position, its last price (with that price's time), its value
and its unrealised result; the rows add up to the bot's unrealised PnL because they
are marked with the same stored price (``Position.mark_price``, set by the sync).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal as D

import pytest
from django.test import Client
from django.utils import timezone

from trading.models import Bot, Fill, Order
from trading.sync import update_book
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_ids = itertools.count()


def _fill(bot: Bot, market: str, side: str, amount: str, price: str, minutes: int) -> None:
    n = next(_ids)
    order = Order.objects.create(
        bot=bot, credential=bot.credential, exchange_id="paper", market=market, side=side,
        amount=D(amount), client_order_id=f"mark-{n}", status="closed", filled=D(amount),
    )  # fmt: skip
    Fill.objects.create(
        order=order, credential=bot.credential, trade_id=f"m{n}", amount=D(amount),
        price=D(price), fee=D("1"), fee_currency="USDT",
        taken_at=START + dt.timedelta(minutes=minutes),
    )  # fmt: skip


@pytest.fixture
def two_positions(user) -> Bot:
    """0.08 BTC bought at 60,000 and 62,000 (average 60,750), 1.5 ETH at 3,000;
    marked at 61,000 and 3,100 by the sync that booked them."""
    user.time_zone = "Europe/Berlin"
    user.save(update_fields=["time_zone"])
    bot = BotFactory(owner=user, allocation=D("10000"), markets=["BTC/USDT", "ETH/USDT"])
    _fill(bot, "BTC/USDT", "buy", "0.05", "60000", 1)
    _fill(bot, "BTC/USDT", "buy", "0.03", "62000", 2)
    _fill(bot, "ETH/USDT", "buy", "1.5", "3000", 3)
    update_book(bot, {"BTC/USDT": D("61000"), "ETH/USDT": D("3100")})
    bot.refresh_from_db()
    return bot


def _row(page: str, market: str) -> str:
    match = re.search(rf'<tr data-market="{re.escape(market)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {market}"
    return match.group(1)


def _field(row: str, name: str) -> str:
    match = re.search(rf'data-field="{name}"[^>]*>([^<]*)<', row)
    assert match, f"no {name} in {row}"
    return match.group(1).strip()


def test_the_bot_page_shows_each_positions_last_price_value_and_unrealised_result(
    verified_client: Client, two_positions: Bot
) -> None:
    page = verified_client.get(f"/bots/{two_positions.pk}/").content.decode()
    btc, eth = _row(page, "BTC/USDT"), _row(page, "ETH/USDT")
    # By hand: BTC 0.08 at (3,000 + 1,860) / 0.08 = 60,750; at 61,000 worth 4,880,
    # (61,000 - 60,750) x 0.08 = +20 (+0.41 %). ETH 1.5 at 3,000; at 3,100 worth
    # 4,650, +150 (+3.33 %).
    assert (_field(btc, "mark"), _field(btc, "value"), _field(btc, "unrealised")) == (
        "61,000.00",
        "4,880.00",
        "+20.00",
    )
    assert "+0.41%" in btc and "60,750.00" in btc
    assert (_field(eth, "mark"), _field(eth, "value"), _field(eth, "unrealised")) == (
        "3,100.00",
        "4,650.00",
        "+150.00",
    )
    assert "+3.33%" in eth
    # The price's time, in the viewer's zone and labelled with it.
    marked_at = two_positions.positions.get(market="BTC/USDT").marked_at
    assert marked_at is not None
    local = timezone.localtime(marked_at, dt.timezone(dt.timedelta(hours=1)))
    assert f"{local:%Y-%m-%d %H:%M} CET" in btc


def test_the_positions_add_up_to_the_bots_unrealised_total(two_positions: Bot) -> None:
    held = list(two_positions.positions.filter(amount__gt=0))
    assert len(held) == 2
    assert sum((p.unrealised or D(0) for p in held), D(0)) == two_positions.unrealised_pnl
    assert two_positions.unrealised_pnl == D("170")
    assert two_positions.cash + sum((p.value or D(0) for p in held), D(0)) == two_positions.equity


def test_a_market_not_traded_keeps_its_last_mark_and_the_sum_still_holds(
    two_positions: Bot,
) -> None:
    eth = two_positions.positions.get(market="ETH/USDT")
    # A later BTC sale is synced with BTC's price only: ETH is not valued back at its
    # entry (that would wipe its +150 from the bot's total until ETH trades again).
    _fill(two_positions, "BTC/USDT", "sell", "0.02", "61500", 10)
    update_book(two_positions, {"BTC/USDT": D("61500")})
    two_positions.refresh_from_db()
    held = {p.market: p for p in two_positions.positions.filter(amount__gt=0)}
    assert (held["ETH/USDT"].mark_price, held["ETH/USDT"].marked_at) == (
        eth.mark_price,
        eth.marked_at,
    )
    # BTC: 0.06 at 60,750 marked at 61,500 → +45; ETH still +150.
    assert two_positions.unrealised_pnl == D("195")
    assert sum((p.unrealised or D(0) for p in held.values()), D(0)) == D("195")


def test_the_dashboard_card_values_each_position_too(
    verified_client: Client, two_positions: Bot
) -> None:
    page = verified_client.get("/dashboard/").content.decode()
    position = page[page.index("<dt>Position</dt>") :]
    position = position[: position.index("</dd>")]
    assert "worth 4,880.00 USDT" in position and "+20.00 USDT (+0.41%)" in position
    assert "worth 4,650.00 USDT" in position and "+150.00 USDT (+3.33%)" in position


def test_the_batch_path_stores_the_marks_its_totals_use() -> None:
    from strategies.tests.factories import SignalFactory, StrategyFactory
    from trading.fanout import execute_batch

    strategy = StrategyFactory(markets=["BTC/USDT", "ETH/USDT"])
    bot = BotFactory(strategy=strategy, markets=["BTC/USDT", "ETH/USDT"], allocation=D("2000"))
    for market in ("BTC/USDT", "ETH/USDT"):
        signal = SignalFactory(strategy=strategy, market=market, fraction=D("0.4"))
        assert execute_batch(str(signal.pk), [str(bot.pk)]) == {"executed": 1}
    bot.refresh_from_db()
    held = {p.market: p for p in bot.positions.filter(amount__gt=0)}
    assert set(held) == {"BTC/USDT", "ETH/USDT"}
    # Each position marked at its own order's fill price (the ETH batch kept BTC's).
    for market, position in held.items():
        order = bot.orders.get(market=market)
        assert position.mark_price == order.average and position.marked_at is not None
    assert sum((p.unrealised or D(0) for p in held.values()), D(0)) == bot.unrealised_pnl
    assert bot.cash + sum((p.value or D(0) for p in held.values()), D(0)) == bot.equity
