"""A backtest's decisions replayed through the live path fill exactly as the backtest says.

The paper exchange runs on a manual clock, its price at each minute is the
series' open, its fee is the backtest's and slippage is zero on both sides:
so any difference in the fills can only come from sizing, precision or fees.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from paper import prices
from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.markets import MARKETS
from strategies.backtest import Costs, simulate
from strategies.library.base import BUY, HOLD, SELL, TARGET, Decision
from strategies.series import CandleSeries
from strategies.tests.factories import SignalFactory
from trading.execution import execute
from trading.models import Fill
from trading.tests.factories import BotFactory

MARKET = "BTC/USDT"
FEE = Decimal("0.001")
# Buy all, sell half, buy again (only what cash is left), sell all, ...: round trips
# a minute apart lose their fees, so cash ends below the allocation and later
# full buys are partial ones.
PATTERN = [
    (BUY, "1"), (HOLD, "0"), (SELL, "0.5"), (BUY, "1"), (SELL, "1"),
    (BUY, "0.6"), (BUY, "1"), (SELL, "1"), (BUY, "1"), (SELL, "1"),
]  # fmt: skip
# Exposure targets: up, down, inside the rebalance band (no trade), all in, out, in again.
TARGETS = [
    (TARGET, "0.6"), (HOLD, "0"), (TARGET, "0.2"), (TARGET, "0.22"), (TARGET, "1"),
    (TARGET, "0"), (TARGET, "0.5"), (TARGET, "0.8"), (TARGET, "0.3"), (TARGET, "0"),
]  # fmt: skip


def _at(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)


@pytest.fixture
def clock(settings, monkeypatch) -> ManualClock:
    settings.PAPER_SLIPPAGE_BPS = "0"
    settings.PAPER_IMPACT_BPS = "0"
    settings.PAPER_TAKER_FEE = str(FEE)
    settings.ORDER_FEE_RATE = str(FEE)
    settings.ORDER_PRICE_BUFFER = "0"
    clock = ManualClock(timezone.now().replace(second=0, microsecond=0) - dt.timedelta(days=1))
    built = PaperConfig.from_settings
    monkeypatch.setattr(
        PaperConfig, "from_settings", classmethod(lambda cls, **kw: built(clock=clock, **kw))
    )
    return clock


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", [PATTERN, TARGETS], ids=["buy-sell", "targets"])
def test_replaying_a_backtest_live_gives_the_same_fills(clock, pattern) -> None:
    # Fails on main before this change: live refused the partial buys ("over_allocation").
    first = prices.minute_of(clock())
    minutes = [first + i for i in range(len(pattern) + 1)]
    seed = PaperConfig.from_settings().seed
    opens = [prices.price_at(seed, MARKET, m) for m in minutes]
    series = CandleSeries.from_rows(
        "1m",
        [(_at(m), p, p, p, p, 1) for m, p in zip(minutes, opens, strict=True)],
    )
    decisions = [Decision(a, Decimal(f), Decimal("0.5")) for a, f in [*pattern, (HOLD, "0")]]
    spec = MARKETS[MARKET]
    costs = Costs(
        fee_rate=FEE, slippage_rate=Decimal(0), min_notional=spec.min_notional,
        amount_step=spec.step_size, min_amount=spec.min_amount,
    )  # fmt: skip
    capital = Decimal("1000")
    ledger = simulate(series, decisions, start=0, capital=capital, costs=costs)
    assert any(t.pnl is not None and t.pnl < 0 for t in ledger.trades)  # losing round trips
    assert any(
        t.side == BUY and t.notional + t.fee < capital * Decimal("0.99") for t in ledger.trades[1:]
    )  # fmt: skip  (a partial buy)

    bot = BotFactory(allocation=capital, markets=[MARKET])
    for t, decision in enumerate(decisions[:-1], start=1):
        if decision.action == HOLD:
            continue
        # Traded in the minute after the decision's candle, as the backtest does.
        clock.set(_at(minutes[t]) + dt.timedelta(seconds=1))
        signal = SignalFactory(
            strategy=bot.strategy, market=MARKET, action=decision.action,
            fraction=decision.fraction,
        )  # fmt: skip
        execute(bot.pk, signal.pk)

    live = [
        (f.order.side, f.amount, f.price, f.fee)
        for f in Fill.objects.filter(order__bot=bot).select_related("order").order_by("taken_at")
    ]
    backtest = [(t.side, t.amount, t.price, t.fee) for t in ledger.trades]
    assert len(live) >= 7
    assert live == backtest
    if pattern is TARGETS:
        assert len(backtest) == 8  # the target inside the band traded nothing
    bot.refresh_from_db()
    cash = capital
    for trade in ledger.trades:
        cash += (-1 if trade.side == BUY else 1) * trade.notional - trade.fee
    assert bot.cash == cash
    assert SELL in {t.side for t in ledger.trades}
