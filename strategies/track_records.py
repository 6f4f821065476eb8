"""Track records users can trust (issue 11 item 3).

- **Official record**: each strategy, with its own settings, walked forward over
  the real Binance history shipped in ``strategies/data`` (loaded into the
  database as exchange ``binance`` by ``load_reference_history``), beside
  buy-and-hold over the same candles, with per-year returns.
- **Live record**: what the strategy's own signals since its first one would
  have made, priced exactly as a backtest prices decisions (``backtest.simulate``:
  the signal of a candle filled at the next open, slipped, with fees, sized by
  ``sizing.size_order``) on the stored candles of the exchange it reads.

Both are measured with ``performance.Summary``: return, CAGR, max drawdown,
Calmar ratio, time in market.
"""

from __future__ import annotations

import functools
import gzip
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from strategies.backtest import Costs, Ledger, run_backtest, simulate
from strategies.csv_import import ImportResult, Source, import_sources, market_from_symbol_id
from strategies.library import build_model
from strategies.library.base import STAY, Decision
from strategies.market_data import candle_series
from strategies.models import Candle, Signal, Strategy, TrackRecord
from strategies.performance import Summary, buy_and_hold, summary_of, yearly_returns
from strategies.reference_data import NAME, SHIPPED
from strategies.series import CandleSeries
from strategies.timeframes import from_ms

REFERENCE_EXCHANGE = "binance"
SOURCE = "Binance spot candles shipped with OneClick (strategies/data, MIT-sourced)"
STAT_NAMES = ("total_return", "cagr", "max_drawdown", "calmar", "exposure")


def _setting_decimal(name: str, default: str) -> Decimal:
    return Decimal(str(getattr(settings, name, default)))


def record_costs() -> Costs:
    """The costs every page backtest uses (STRATEGY_BACKTEST_* settings)."""
    return Costs(
        fee_rate=_setting_decimal("STRATEGY_BACKTEST_FEE_RATE", "0.001"),
        slippage_rate=_setting_decimal("STRATEGY_BACKTEST_SLIPPAGE_RATE", "0.0005"),
    )


def record_capital() -> Decimal:
    return _setting_decimal("STRATEGY_BACKTEST_CAPITAL", "10000")


def costs_shown() -> dict[str, Decimal]:
    """What the page says the records were priced with."""
    costs = record_costs()
    return {
        "fee_rate": costs.fee_rate,
        "slippage_rate": costs.slippage_rate,
        "capital": record_capital(),
    }


def _read_gzipped(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def shipped_sources() -> list[Source]:
    """The gzipped dumps in ``strategies/data``, as the importer reads files."""
    sources = []
    for path in sorted(SHIPPED.glob("*.csv.gz")):
        if NAME.match(path.name):
            name = path.name.removesuffix(".gz")
            sources.append(Source(name, str(path), functools.partial(_read_gzipped, path)))
    return sources


def shipped_markets() -> dict[str, str]:
    """``{market: timeframe}`` of the shipped history (``BTC/USDT``: ``4h``)."""
    found = {}
    for source in shipped_sources():
        match = NAME.match(source.name)
        if match is not None:
            found[market_from_symbol_id(match["symbol"])] = match["tf"]
    return found


def reference_span(*, market: str, timeframe: str) -> tuple[datetime, datetime] | None:
    """First and last open time of the stored real history of ``market`` (None if none)."""
    span = Candle.objects.filter(
        exchange_id=REFERENCE_EXCHANGE, market=market, timeframe=timeframe
    ).aggregate(first=Min("open_time"), last=Max("open_time"))
    if span["first"] is None:
        return None
    return span["first"], span["last"]


def load_reference_history(
    on_file: Callable[[int, int, Source], None] | None = None,
) -> list[ImportResult]:
    """Store the shipped history (candles already stored are kept: idempotent)."""
    return import_sources(shipped_sources(), exchange_id=REFERENCE_EXCHANGE, on_file=on_file)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.000001")))


def _stats_json(summary: Summary) -> dict[str, Any]:
    return {
        **{name: _text(getattr(summary, name)) for name in STAT_NAMES},
        "trades": summary.trades,
    }


def _is_current(
    record: TrackRecord | None, strategy: Strategy, params: dict[str, float], series: CandleSeries
) -> bool:
    # ``params`` are the model's full settings, defaults filled in: a record made
    # before a default changed is out of date although the strategy's own are not.
    return (
        record is not None
        and record.kind == strategy.kind
        and record.params == params
        and record.timeframe == strategy.timeframe
        and record.candles == len(series)
        and int(record.end.timestamp() * 1000) == int(series.open_ms[-1])
    )


def official_records_refresh(*, strategy: Strategy, force: bool = False) -> list[TrackRecord]:
    """Walk ``strategy`` forward over the shipped history of each of its markets that
    has one (at its own timeframe); records of markets it no longer trades or that
    have no history are removed. An up-to-date record is kept unless ``force``."""
    model = build_model(strategy.kind, strategy.params)
    existing = {r.market: r for r in TrackRecord.objects.filter(strategy=strategy)}
    kept: list[TrackRecord] = []
    for market in strategy.markets:
        series = candle_series(
            exchange_id=REFERENCE_EXCHANGE,
            market=market,
            timeframe=strategy.timeframe,
            until=timezone.now(),
        )
        if len(series) < model.lookback + 2:
            continue
        record = existing.get(market)
        if not force and record is not None and _is_current(record, strategy, model.params, series):
            kept.append(record)
            continue
        costs, capital = record_costs(), record_capital()
        result = run_backtest(model, series, capital=capital, costs=costs)
        holding = buy_and_hold(series, start=result.ledger.start, capital=capital, costs=costs)
        mine_years = dict(yearly_returns(result.ledger))
        held_years = dict(yearly_returns(holding))
        record, _ = TrackRecord.objects.update_or_create(
            strategy=strategy,
            market=market,
            defaults={
                "timeframe": strategy.timeframe,
                "kind": strategy.kind,
                "params": dict(model.params),
                "source": SOURCE,
                "start": from_ms(result.ledger.times_ms[0]),
                "end": from_ms(int(series.open_ms[-1])),
                "candles": len(series),
                "strategy_stats": _stats_json(summary_of(result, series.timeframe)),
                "holding_stats": _stats_json(summary_of(holding, series.timeframe)),
                "yearly": [
                    [year, _text(mine_years[year]), _text(held_years.get(year))]
                    for year in sorted(mine_years)
                ],
                "computed_at": timezone.now(),
            },
        )
        kept.append(record)
    TrackRecord.objects.filter(strategy=strategy).exclude(
        pk__in=[record.pk for record in kept]
    ).delete()
    return kept


@dataclass(frozen=True)
class Shown:
    """One record's statistics as Decimals (None where undefined), for templates."""

    total_return: Decimal | None
    cagr: Decimal | None
    max_drawdown: Decimal | None
    calmar: Decimal | None
    exposure: Decimal | None
    trades: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shown:
        def number(name: str) -> Decimal | None:
            value = data.get(name)
            return None if value is None else Decimal(str(value))

        return cls(
            total_return=number("total_return"),
            cagr=number("cagr"),
            max_drawdown=number("max_drawdown"),
            calmar=number("calmar"),
            exposure=number("exposure"),
            trades=int(data.get("trades") or 0),
        )

    @classmethod
    def of(cls, summary: Summary) -> Shown:
        return cls(
            total_return=summary.total_return,
            cagr=summary.cagr,
            max_drawdown=summary.max_drawdown,
            calmar=summary.calmar,
            exposure=summary.exposure,
            trades=summary.trades,
        )


@dataclass(frozen=True)
class OfficialRecord:
    record: TrackRecord
    mine: Shown
    holding: Shown
    yearly: list[tuple[int, Decimal | None, Decimal | None]]


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _shown(record: TrackRecord, *, yearly: bool = True) -> OfficialRecord:
    return OfficialRecord(
        record=record,
        mine=Shown.from_json(record.strategy_stats),
        holding=Shown.from_json(record.holding_stats),
        yearly=[
            (int(year), _decimal_or_none(mine), _decimal_or_none(held))
            for year, mine, held in (record.yearly if yearly else [])
        ],
    )


def _in_market_order(strategy: Strategy, records: list[TrackRecord]) -> list[TrackRecord]:
    order = {market: i for i, market in enumerate(strategy.markets)}
    return sorted(records, key=lambda r: order.get(r.market, len(order)))


def official_records(strategy: Strategy) -> list[OfficialRecord]:
    """The stored official records of ``strategy``, in its market order (one query)."""
    records = list(TrackRecord.objects.filter(strategy=strategy))
    return [_shown(r) for r in _in_market_order(strategy, records)]


def official_headlines(strategies: list[Strategy]) -> dict[int, OfficialRecord]:
    """Each strategy's record on its first market that has one (one query for all)."""
    found: dict[int, list[TrackRecord]] = defaultdict(list)
    for record in TrackRecord.objects.filter(strategy__in=strategies).defer("yearly"):
        found[record.strategy_id].append(record)
    return {
        s.pk: _shown(_in_market_order(s, found[s.pk])[0], yearly=False)
        for s in strategies
        if found[s.pk]
    }


@dataclass(frozen=True)
class LiveRecord:
    market: str
    since: datetime
    signals: int
    candles: int
    mine: Shown | None
    holding: Shown | None


def _live_ledgers(
    series: CandleSeries, decisions: dict[int, Decision], costs: Costs, capital: Decimal
) -> tuple[Ledger, Ledger]:
    # The decision of a candle is filled at the next open, as in a backtest.
    chosen = [decisions.get(int(ms), STAY) for ms in series.open_ms]
    mine = simulate(series, chosen, start=0, capital=capital, costs=costs)
    return mine, buy_and_hold(series, start=0, capital=capital, costs=costs)


def live_records(strategy: Strategy) -> list[LiveRecord]:
    """The strategy's own signals, per market, traded on its stored candles (two queries)."""
    by_market: dict[str, dict[int, Decision]] = defaultdict(dict)
    first: dict[str, datetime] = {}
    for market, period, action, fraction, confidence in (
        Signal.objects.filter(strategy=strategy)
        .order_by("period")
        .values_list("market", "period", "action", "fraction", "confidence")
    ):
        by_market[market][int(period.timestamp() * 1000)] = Decision(action, fraction, confidence)
        first.setdefault(market, period)
    if not first:
        return []
    rows: dict[str, list[tuple]] = defaultdict(list)
    for market, *row in (
        Candle.objects.filter(
            exchange_id=strategy.exchange_id,
            timeframe=strategy.timeframe,
            market__in=list(first),
            open_time__gte=min(first.values()),
        )
        .order_by("market", "open_time")
        .values_list("market", "open_time", "open", "high", "low", "close", "volume")
    ):
        if row[0] >= first[market]:
            rows[market].append(tuple(row))
    costs, capital = record_costs(), record_capital()
    out = []
    for market in sorted(first, key=lambda m: (m not in strategy.markets, m)):
        series = CandleSeries.from_rows(strategy.timeframe, rows[market])
        mine = holding = None
        if len(series) >= 2:
            mine_ledger, held_ledger = _live_ledgers(series, by_market[market], costs, capital)
            mine = Shown.of(summary_of(mine_ledger, series.timeframe))
            holding = Shown.of(summary_of(held_ledger, series.timeframe))
        out.append(
            LiveRecord(
                market=market,
                since=first[market],
                signals=len(by_market[market]),
                candles=len(series),
                mine=mine,
                holding=holding,
            )
        )
    return out


def refresh_all(*, force: bool = False) -> int:
    """Official records of every strategy (each stored as it is made, no long
    transaction around minutes of backtests); the number of records kept or made."""
    return sum(
        len(official_records_refresh(strategy=strategy, force=force))
        for strategy in Strategy.objects.order_by("pk")
    )
