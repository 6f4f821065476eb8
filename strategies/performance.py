"""A strategy's record beside buy-and-hold: what a user compares before following it.

Buy-and-hold is traded by the same ``backtest.simulate`` as the strategy (a
full buy at the first open, fees and slippage included), over the same
candles, so the two lines differ only by the decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from strategies.backtest import BacktestResult, Costs, Ledger, ledger_stats, simulate
from strategies.library.base import BUY, STAY, Decision
from strategies.series import CandleSeries
from strategies.stats import Stats, calmar
from strategies.timeframes import from_ms

ALL_IN = Decision(BUY, Decimal(1), Decimal(1))


@dataclass(frozen=True)
class Summary:
    total_return: Decimal
    cagr: Decimal | None
    max_drawdown: Decimal
    calmar: Decimal | None
    exposure: Decimal
    trades: int

    @classmethod
    def of(cls, stats: Stats) -> Summary:
        return cls(
            total_return=stats.total_return,
            cagr=stats.cagr,
            max_drawdown=stats.max_drawdown,
            calmar=calmar(stats),
            exposure=stats.exposure,
            trades=stats.trades,
        )


def buy_and_hold(series: CandleSeries, *, start: int, capital: Decimal, costs: Costs) -> Ledger:
    """All in at the open after ``start``'s close (as a strategy's first buy would be)."""
    decisions = [ALL_IN] + [STAY] * (len(series) - start - 1)
    return simulate(series, decisions, start=start, capital=capital, costs=costs)


def beats_buy_and_hold(strategy: Summary, holding: Summary) -> bool:
    """The risk target: at most half of holding's worst fall, and a better Calmar ratio."""
    if strategy.max_drawdown > holding.max_drawdown / 2:
        return False
    if holding.calmar is None:
        return strategy.calmar is not None and strategy.calmar > 0
    return strategy.calmar is not None and strategy.calmar > holding.calmar


def yearly_returns(ledger: Ledger) -> list[tuple[int, Decimal]]:
    """(calendar year, return over the part of it the ledger covers), oldest first.

    Each year is measured from the last close of the year before (the start
    for the first year) to its own last close.
    """
    years: list[tuple[int, Decimal]] = []
    base = ledger.equity[0]
    last_year: int | None = None
    last_value = base
    for time_ms, value in zip(ledger.times_ms, ledger.equity, strict=True):
        year = from_ms(time_ms).year
        if last_year is not None and year != last_year:
            years.append((last_year, last_value / base - 1 if base > 0 else Decimal(0)))
            base = last_value
        last_year, last_value = year, value
    if last_year is not None:
        years.append((last_year, last_value / base - 1 if base > 0 else Decimal(0)))
    return years


def summary_of(result: BacktestResult | Ledger, timeframe: str) -> Summary:
    if isinstance(result, BacktestResult):
        return Summary.of(result.stats)
    return Summary.of(ledger_stats(result, timeframe))
