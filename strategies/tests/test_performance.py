from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from strategies.backtest import Costs, Ledger
from strategies.performance import (
    Summary,
    beats_buy_and_hold,
    buy_and_hold,
    summary_of,
    yearly_returns,
)
from strategies.stats import calmar, compute_stats
from strategies.tests.factories import series_from_closes
from strategies.timeframes import to_ms


def test_buy_and_hold_buys_everything_at_the_first_open_after_the_start_and_keeps_it() -> None:
    series = series_from_closes([100.0, 100.0, 110.0, 120.0])
    ledger = buy_and_hold(series, start=0, capital=D(1000), costs=Costs(D(0), D(0)))
    assert [t.side for t in ledger.trades] == ["buy"] and ledger.trades[0].index == 1
    assert ledger.equity[0] == D(1000) and ledger.equity[-1] > D(1150)


def test_calmar_is_cagr_over_the_worst_drawdown_and_none_without_a_drawdown() -> None:
    day = 86_400_000
    stats = compute_stats(
        equity=[D(100), D(80), D(200)],
        times_ms=[0, 182 * day, 365 * day + day // 4],
        invested=[D(0)] * 3,
        sell_pnls=[],
        trades=0,
        timeframe="1d",
    )
    assert stats.cagr is not None
    assert calmar(stats) == stats.cagr / D("0.2")
    flat = compute_stats(
        equity=[D(1), D(2)], times_ms=[0, day], invested=[D(0)] * 2, sell_pnls=[], trades=0,
        timeframe="1d",
    )  # fmt: skip
    assert calmar(flat) is None


def test_returns_are_split_by_calendar_year_from_each_years_last_close() -> None:
    start = datetime(2023, 12, 30, tzinfo=UTC)
    times = [to_ms(start + timedelta(days=i)) for i in range(4)]  # Dec 30, 31, Jan 1, 2
    ledger = Ledger(start=0, capital=D(100), times_ms=times, equity=[D(100), D(110), D(99), D(121)])
    assert yearly_returns(ledger) == [(2023, D("0.1")), (2024, D(121) / D(110) - 1)]


def test_the_target_needs_half_the_drawdown_and_a_better_calmar() -> None:
    def summary(dd: str, calmar_ratio: str | None) -> Summary:
        value = None if calmar_ratio is None else D(calmar_ratio)
        return Summary(D(0), D(0), D(dd), value, D(0), 0)

    holding = summary("0.8", "0.3")
    assert beats_buy_and_hold(summary("0.4", "0.31"), holding)
    assert not beats_buy_and_hold(summary("0.41", "2"), holding)
    assert not beats_buy_and_hold(summary("0.1", "0.29"), holding)
    assert not beats_buy_and_hold(summary("0.1", None), holding)


def test_a_summary_of_a_ledger_matches_the_backtests_own_statistics() -> None:
    series = series_from_closes([100.0, 90.0, 120.0, 80.0, 130.0])
    ledger = buy_and_hold(series, start=0, capital=D(1000), costs=Costs())
    summary = summary_of(ledger, "4h")
    assert summary.trades == 1 and D(0) < summary.exposure < 1
    assert summary.max_drawdown == max(1 - b / a for a, b in [(ledger.equity[2], ledger.equity[3])])
