"""A backtest: the live decision code replayed over history, with fees and slippage.

Timing never peeks: the decision made at the close of candle t (from candles
0..t) is executed at the open of candle t+1, as a live signal is traded just
after the candle it was made on. Orders follow the meaning of a decision (see
``library.base.Decision``), with the allocation being the starting capital:

- buy f: spend min(cash, f * capital), fee included, at open * (1 + slippage);
- sell f: sell f of the units held at open * (1 - slippage), fee deducted;
- target x: buy or sell the difference between x of the equity (cash plus
  the position at the open) and the position, outside the rebalance band;
- an order worth less than ``min_notional`` is skipped, as an exchange refuses it.

The amounts come from ``strategies.sizing.size_order``, the function live
trading sizes its orders with, so a backtest buys and sells what a bot would.

Money is Decimal throughout; equity is marked at every close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from strategies.engine import replay
from strategies.library.base import BUY, SELL, TARGET, Decision, StrategyModel
from strategies.series import CandleSeries
from strategies.sizing import MarketRules, Sized, fee_for, size_order
from strategies.stats import Stats, compute_stats, drawdowns


@dataclass(frozen=True)
class Costs:
    fee_rate: Decimal = Decimal("0.001")
    slippage_rate: Decimal = Decimal("0.0005")
    min_notional: Decimal = Decimal("5")
    # The market's amount step and minimum amount, as live orders are truncated to them.
    amount_step: Decimal | None = None
    min_amount: Decimal | None = None

    @property
    def trade_cost(self) -> Decimal:
        """The cost of a trade as a share of its value, as live fills measure it
        (``selectors.cost_estimate``): it sets a target's rebalance band."""
        return self.fee_rate + self.slippage_rate

    @property
    def rules(self) -> MarketRules:
        return MarketRules(
            amount_step=self.amount_step, min_amount=self.min_amount, min_cost=self.min_notional
        )


@dataclass(frozen=True)
class Trade:
    index: int
    time_ms: int
    side: str
    price: Decimal
    amount: Decimal
    notional: Decimal
    fee: Decimal
    # Sells: proceeds after fee minus the cost (fees included) of the units sold.
    pnl: Decimal | None = None


@dataclass
class Ledger:
    start: int
    capital: Decimal
    times_ms: list[int] = field(default_factory=list)
    equity: list[Decimal] = field(default_factory=list)
    invested: list[Decimal] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)


@dataclass(frozen=True)
class BacktestResult:
    ledger: Ledger
    stats: Stats
    decisions: list[Decision]

    @property
    def drawdown(self) -> list[Decimal]:
        return drawdowns(self.ledger.equity)


def simulate(
    series: CandleSeries,
    decisions: Sequence[Decision],
    *,
    start: int,
    capital: Decimal,
    costs: Costs,
) -> Ledger:
    """Trade ``decisions`` (one per candle from ``start``) and mark equity at each close."""
    if len(decisions) != len(series) - start:
        raise ValueError("one decision per candle from start is needed")
    cash, units, cost = capital, Decimal(0), Decimal(0)
    ledger = Ledger(start=start, capital=capital)
    rules = costs.rules
    for t in range(start, len(series)):
        pending = decisions[t - start - 1] if t > start else None
        if pending is not None and pending.action in (BUY, SELL, TARGET):
            # A market order is expected to fill at the next open, slipped against it.
            sized = size_order(
                side=pending.action,
                fraction=pending.fraction,
                capital=capital,
                cash=cash,
                held=units,
                price=series.open_exact[t],
                fee_rate=costs.fee_rate,
                rules=rules,
                buy_markup=costs.slippage_rate,
                sell_markdown=costs.slippage_rate,
                cost=costs.trade_cost,
            )
            if isinstance(sized, Sized):
                amount, price = sized.amount, sized.price
                notional = amount * price
                fee = fee_for(notional, costs.fee_rate)
                time_ms = int(series.open_ms[t])
                if sized.side == BUY:
                    cash -= notional + fee
                    units += amount
                    cost += notional + fee
                    ledger.trades.append(Trade(t, time_ms, BUY, price, amount, notional, fee))
                else:
                    sold_cost = cost if amount == units else cost * amount / units
                    cash += notional - fee
                    units -= amount
                    cost -= sold_cost
                    pnl = notional - fee - sold_cost
                    ledger.trades.append(
                        Trade(t, time_ms, SELL, price, amount, notional, fee, pnl=pnl)
                    )
        held = units * series.close_exact[t]
        ledger.times_ms.append(int(series.open_ms[t]))
        ledger.equity.append(cash + held)
        ledger.invested.append(held)
    return ledger


def run_backtest(
    model: StrategyModel,
    series: CandleSeries,
    *,
    capital: Decimal,
    costs: Costs,
    start: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Replay ``model`` over ``series`` from ``start`` (default: its first full feature row)."""
    first = model.lookback - 1 if start is None else start
    if len(series) - first < 2:
        raise ValueError(
            f"{model.key} needs more than {model.lookback} candles to backtest, "
            f"{len(series)} are stored"
        )
    replayed = replay(model, series, start=first, on_progress=on_progress)
    ledger = simulate(series, replayed.decisions, start=first, capital=capital, costs=costs)
    stats = ledger_stats(ledger, series.timeframe)
    return BacktestResult(ledger=ledger, stats=stats, decisions=replayed.decisions)


def ledger_stats(ledger: Ledger, timeframe: str) -> Stats:
    return compute_stats(
        equity=ledger.equity,
        times_ms=ledger.times_ms,
        invested=ledger.invested,
        sell_pnls=[trade.pnl for trade in ledger.trades if trade.pnl is not None],
        trades=len(ledger.trades),
        timeframe=timeframe,
    )
