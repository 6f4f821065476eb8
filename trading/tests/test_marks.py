"""Held positions valued at the market between trades (trading.marks)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from trading import market_cache
from trading.marks import MARK_TICKER_SECONDS, mark_held_positions
from trading.models import Bot, EquitySnapshot
from trading.snapshots import snapshots_take
from trading.sync import ticker_price
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db


def paper_price(market: str) -> Decimal:
    return ticker_price(market_cache.ticker_snapshot("paper", market, MARK_TICKER_SECONDS))


def holding(amount: str, entry: str, *, market: str = "BTC/USDT", **fields: object) -> Bot:
    bot = BotFactory(cash=Decimal("400"), **fields)
    bot.positions.create(market=market, amount=Decimal(amount), avg_entry=Decimal(entry))
    return bot


def test_a_held_position_is_valued_at_the_market_not_at_its_last_trade() -> None:
    """A bot holding BTC kept the price of its last fill on every page for as long as it
    held (days for a trend follower); its totals now move with the market hourly."""
    bot = holding("0.01", "60000")
    assert mark_held_positions() == 1
    price = paper_price("BTC/USDT")
    bot.refresh_from_db()
    position = bot.positions.get()
    assert position.mark_price == price and position.marked_at is not None
    assert bot.equity == Decimal("400") + Decimal("0.01") * price
    assert bot.unrealised_pnl == (price - Decimal("60000")) * Decimal("0.01")
    assert bot.cash == Decimal("400") and position.amount == Decimal("0.01")


def test_the_snapshot_is_the_figure_the_pages_show() -> None:
    bot = holding("0.01", "60000")
    snapshots_take()
    bot.refresh_from_db()
    snap = EquitySnapshot.objects.get(bot=bot)
    assert (snap.equity, snap.unrealised_pnl, snap.cash) == (
        bot.equity,
        bot.unrealised_pnl,
        bot.cash,
    )
    assert snap.equity == Decimal("400") + Decimal("0.01") * paper_price("BTC/USDT")


def test_a_fall_is_recorded_in_the_drawdown() -> None:
    price = paper_price("BTC/USDT")
    # Bought at twice today's price: half of the position's value is gone.
    bot = holding("1", str(price * 2), allocation=Decimal("400") + price * 2)
    Bot.objects.filter(pk=bot.pk).update(peak_equity=Decimal("400") + price * 2)
    mark_held_positions()
    bot.refresh_from_db()
    assert bot.max_drawdown == pytest.approx(
        price / (Decimal("400") + price * 2), abs=Decimal("1e-8")
    )


def test_a_market_without_a_price_keeps_its_last_mark_and_others_are_still_valued() -> None:
    marked_at = timezone.now()
    gone = holding("2", "10", market="GONE/USDT")
    gone.positions.update(mark_price=Decimal("12"), marked_at=marked_at)
    Bot.objects.filter(pk=gone.pk).update(equity=Decimal("424"), unrealised_pnl=Decimal("4"))
    held = holding("0.01", "60000")
    assert mark_held_positions() == 1
    gone.refresh_from_db()
    assert gone.equity == Decimal("424") and gone.positions.get().mark_price == Decimal("12")
    held.refresh_from_db()
    assert held.positions.get().mark_price == paper_price("BTC/USDT")


def test_stopped_bots_and_empty_positions_are_left_alone() -> None:
    stopped = holding("0.01", "60000", status=Bot.Status.STOPPED)
    flat = holding("0", "60000")
    assert mark_held_positions() == 0
    for bot in (stopped, flat):
        bot.refresh_from_db()
        assert bot.equity == Decimal("1000") and bot.positions.get().mark_price is None


def test_each_owner_s_open_pages_are_told_once(monkeypatch) -> None:
    from trading import marks

    pushed: list[list[tuple[int, str, dict[str, list[str]]]]] = []
    monkeypatch.setattr(marks, "push_many", pushed.append)
    first = holding("0.01", "60000")
    second = holding("0.02", "60000", owner=first.owner)
    other = holding("0.01", "60000")
    mark_held_positions()
    assert len(pushed) == 1
    by_owner = {owner: (event, sorted(data["bots"])) for owner, event, data in pushed[0]}
    assert by_owner == {
        first.owner_id: ("marks", sorted([str(first.pk), str(second.pk)])),
        other.owner_id: ("marks", [str(other.pk)]),
    }


def test_an_exchange_that_does_not_answer_is_asked_once_per_round(settings, monkeypatch) -> None:
    from vault.tests.factories import CredentialFactory

    # Nothing listens on port 9: real ccxt gets a refused connection (a NetworkError).
    settings.EXCHANGE_URL_OVERRIDES = {"binance": "http://127.0.0.1:9"}
    asked: list[tuple[str, str]] = []
    real = market_cache.ticker_snapshot

    def counted(exchange_id: str, market: str, max_age_s: float) -> object:
        asked.append((exchange_id, market))
        return real(exchange_id, market, max_age_s)

    monkeypatch.setattr(market_cache, "ticker_snapshot", counted)
    down = holding("0.01", "60000", credential=CredentialFactory(exchange_id="binance"))
    down.positions.create(market="ETH/USDT", amount=Decimal("1"), avg_entry=Decimal("3000"))
    up = holding("0.01", "60000")
    assert mark_held_positions() == 1
    assert [ex for ex, _ in asked].count("binance") == 1
    down.refresh_from_db()
    up.refresh_from_db()
    assert down.equity == Decimal("1000") and up.positions.get().mark_price is not None
