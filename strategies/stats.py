"""Statistics of an equity curve, in Decimal.

- total return: final / initial equity - 1;
- CAGR: (final / initial) ^ (1 / years) - 1, years of 365.25 days between the
  first and last point (None for a curve without duration);
- max drawdown: the largest fall from a running peak, as a share of that peak;
- Sharpe: mean / sample standard deviation of the per-candle returns, times
  √(candles per year), with a zero risk-free rate (0 when returns never vary);
- exposure: the average share of equity held in the asset at each close;
- win rate: share of sells whose proceeds after their fee beat the cost of the
  units they sold, buying fees included (average cost); a partial sell counts on
  its own, and a position still open at the end is not counted, as nothing of it
  is realised (None without sells). ``trades`` counts buys and sells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from strategies.timeframes import YEAR_SECONDS, periods_per_year

YEAR_MS = Decimal(repr(YEAR_SECONDS * 1000))


@dataclass(frozen=True)
class Stats:
    final_equity: Decimal
    total_return: Decimal
    cagr: Decimal | None
    max_drawdown: Decimal
    sharpe: Decimal
    win_rate: Decimal | None
    exposure: Decimal
    trades: int


def drawdowns(equity: Sequence[Decimal]) -> list[Decimal]:
    peak = equity[0]
    out = []
    for value in equity:
        peak = max(peak, value)
        out.append(1 - value / peak if peak > 0 else Decimal(0))
    return out


def cagr(equity: Sequence[Decimal], times_ms: Sequence[int]) -> Decimal | None:
    duration = times_ms[-1] - times_ms[0]
    if duration <= 0:
        return None
    ratio = equity[-1] / equity[0]
    if ratio <= 0:
        return Decimal(-1)
    years = Decimal(duration) / YEAR_MS
    return (ratio.ln() / years).exp() - 1


def sharpe(equity: Sequence[Decimal], timeframe: str) -> Decimal:
    returns = [b / a - 1 for a, b in pairwise(equity) if a > 0]
    if len(returns) < 2:
        return Decimal(0)
    mean = sum(returns, Decimal(0)) / len(returns)
    variance = sum(((r - mean) ** 2 for r in returns), Decimal(0)) / (len(returns) - 1)
    if variance == 0:
        return Decimal(0)
    return mean / variance.sqrt() * Decimal(repr(periods_per_year(timeframe))).sqrt()


def compute_stats(
    *,
    equity: Sequence[Decimal],
    times_ms: Sequence[int],
    invested: Sequence[Decimal],
    sell_pnls: Sequence[Decimal],
    trades: int,
    timeframe: str,
) -> Stats:
    """``invested[i]``: value held in the asset at close i; ``sell_pnls``: each sell's result."""
    if not equity or len(equity) != len(times_ms) or len(equity) != len(invested):
        raise ValueError("equity, times and invested must be non-empty and of one length")
    shares = [
        held / total if total > 0 else Decimal(0)
        for held, total in zip(invested, equity, strict=True)
    ]
    wins = sum(1 for pnl in sell_pnls if pnl > 0)
    return Stats(
        final_equity=equity[-1],
        total_return=equity[-1] / equity[0] - 1,
        cagr=cagr(equity, times_ms),
        max_drawdown=max(drawdowns(equity)),
        sharpe=sharpe(equity, timeframe),
        win_rate=Decimal(wins) / len(sell_pnls) if sell_pnls else None,
        exposure=sum(shares, Decimal(0)) / len(shares),
        trades=trades,
    )


def calmar(stats: Stats) -> Decimal | None:
    """CAGR over max drawdown (None without a CAGR or without any drawdown)."""
    if stats.cagr is None or stats.max_drawdown <= 0:
        return None
    return stats.cagr / stats.max_drawdown
