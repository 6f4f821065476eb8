"""Equity and drawdown charts as server-drawn SVG (no script: the CSP stays strict).

A backtest keeps a thinned curve: one point per bucket of candles, with the
bucket's last equity and its deepest drawdown, so a dip between two kept
points still shows on the drawdown chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from strategies.models import Candle, Strategy
from strategies.timeframes import from_ms

MAX_POINTS = 400
WIDTH, HEIGHT, PAD = 600, 180, 4


def thin_curve(
    times_ms: Sequence[int],
    equity: Sequence[Decimal],
    drawdown: Sequence[Decimal],
    *,
    max_points: int = MAX_POINTS,
) -> list[list[object]]:
    """``[[epoch ms, "equity", "drawdown"], …]`` with at most ``max_points`` points.

    The first point is kept as it is (the starting capital); the rest is
    bucketed.
    """
    count = len(equity)
    if count == 0:
        return []

    def point(index: int, deepest: Decimal) -> list[object]:
        return [int(times_ms[index]), f"{equity[index]:.2f}", f"{deepest:.6f}"]

    points = [point(0, drawdown[0])]
    rest = count - 1
    buckets = min(rest, max_points - 1)
    start = 1
    for bucket in range(1, buckets + 1):
        stop = 1 + round(bucket * rest / buckets)
        points.append(point(stop - 1, max(drawdown[start:stop])))
        start = stop
    return points


MAX_TRADE_LOG = 2000


def trade_log(trades: Sequence[Any], *, limit: int = MAX_TRADE_LOG) -> list[list[object]]:
    """A backtest's trades as ``[[epoch ms, side, "price", "amount"], …]``, the newest ``limit``.

    Takes ``strategies.backtest.Trade`` rows as the replay made them: nothing is recomputed.
    """
    return [[int(t.time_ms), t.side, _plain(t.price), _plain(t.amount)] for t in trades[-limit:]]


def _plain(value: Decimal) -> str:
    # Without padding zeros or exponent: 62118.853905, not 62118.8539050000000000.
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class Chart:
    points: str
    top_label: str
    bottom_label: str
    first: datetime
    last: datetime
    width: int = WIDTH
    height: int = HEIGHT


def _polyline(values: Sequence[float], low: float, high: float) -> str:
    span = (high - low) or 1.0
    count = len(values)
    coordinates = []
    for index, value in enumerate(values):
        x = PAD + (WIDTH - 2 * PAD) * (index / (count - 1) if count > 1 else 0.5)
        y = PAD + (HEIGHT - 2 * PAD) * (1 - (value - low) / span)
        coordinates.append(f"{x:.1f},{y:.1f}")
    return " ".join(coordinates)


def equity_chart(curve: Sequence[Sequence[object]]) -> Chart | None:
    if not curve:
        return None
    values = [float(str(point[1])) for point in curve]
    low, high = min(values), max(values)
    return Chart(
        points=_polyline(values, low, high),
        top_label=f"{high:,.2f}",
        bottom_label=f"{low:,.2f}",
        first=from_ms(int(str(curve[0][0]))),
        last=from_ms(int(str(curve[-1][0]))),
    )


def drawdown_chart(curve: Sequence[Sequence[object]]) -> Chart | None:
    """Drawn downwards from 0 at the top to the deepest drawdown at the bottom."""
    if not curve:
        return None
    values = [-float(str(point[2])) for point in curve]
    deepest = min(values)
    return Chart(
        points=_polyline(values, deepest if deepest < 0 else -1.0, 0.0),
        top_label="0%",
        bottom_label=f"{deepest * 100:.1f}%",
        first=from_ms(int(str(curve[0][0]))),
        last=from_ms(int(str(curve[-1][0]))),
    )


# --- Interactive charts (lightweight-charts, static/js/charts.js) ---------------------

MAX_CANDLES = 1500


def _merge(rows: Sequence[Sequence[Any]], size: int) -> list[list[Any]]:
    """OHLC candles merged ``size`` at a time (a long backtest stays light to draw)."""
    merged = []
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        merged.append(
            [
                chunk[0][0],
                chunk[0][1],
                max(r[2] for r in chunk),
                min(r[3] for r in chunk),
                chunk[-1][4],
            ]
        )
    return merged


def calmar(cagr: Decimal | None, max_drawdown: Decimal | None) -> Decimal | None:
    """Yearly return over the deepest drawdown; None when there was no drawdown."""
    if cagr is None or not max_drawdown:
        return None
    return Decimal(cagr) / Decimal(max_drawdown)


def backtest_series(backtest: Any) -> dict[str, Any]:
    """What the backtest's interactive charts draw, times in epoch seconds.

    ``benchmark`` is buy-and-hold of the same market with the same capital, read
    from the stored candles the backtest ran on (one query); ``candles`` are those
    candles for the price chart, merged when there are many.
    """
    curve = backtest.curve or []
    series: dict[str, Any] = {
        "equity": [[int(p[0]) // 1000, str(p[1])] for p in curve],
        "drawdown": [[int(p[0]) // 1000, f"{-float(str(p[2])) * 100:.2f}"] for p in curve],
        "benchmark": [],
        "candles": {},
        "markers": [],
    }
    if not curve:
        return series
    # The candles it replayed: its own exchange_id when it ran on stored history
    # (the shipped Binance candles), else the strategy's exchange's; a subquery,
    # not backtest.strategy, as the page may not have loaded it.
    exchanges = (
        [backtest.exchange_id]
        if getattr(backtest, "exchange_id", "")
        else Strategy.objects.filter(pk=backtest.strategy_id).values("exchange_id")
    )
    rows = list(
        Candle.objects.filter(
            exchange_id__in=exchanges,
            market=backtest.market,
            timeframe=backtest.timeframe,
            open_time__gte=backtest.start,
            open_time__lte=backtest.end,
        )
        .order_by("open_time")
        .values_list("open_time", "open", "high", "low", "close")
    )
    if not rows:
        return series
    capital = Decimal(str(backtest.capital))
    benchmark: list[list[Any]] = []
    # Holding is bought where the curve starts: the candles before it only warmed the
    # model up, and a price move during them is no part of either result.
    index = 0
    first_seconds = int(curve[0][0]) // 1000
    while index + 1 < len(rows) and int(rows[index + 1][0].timestamp()) <= first_seconds:
        index += 1
    first_close = rows[index][4]
    for point in curve:
        seconds = int(point[0]) // 1000
        while index + 1 < len(rows) and int(rows[index + 1][0].timestamp()) <= seconds:
            index += 1
        benchmark.append([seconds, f"{capital * rows[index][4] / first_close:.2f}"])
    series["benchmark"] = benchmark
    plain: list[list[Any]] = [
        [int(t.timestamp()), str(o), str(h), str(lo), str(c)] for t, o, h, lo, c in rows
    ]
    size = -(-len(plain) // MAX_CANDLES)
    series["candles"] = {
        backtest.market: plain
        if size == 1
        else _merge([[r[0], *map(Decimal, r[1:])] for r in plain], size)
    }
    series["candles"][backtest.market] = [
        [r[0], *(str(v) for v in r[1:])] for r in series["candles"][backtest.market]
    ]
    series["buy_and_hold"] = Decimal(benchmark[-1][1]) / capital - 1 if capital else None
    # The same marker rows as a live bot's price chart (trading.selectors.trade_markers).
    series["markers"] = [
        {"time": int(ms) // 1000, "market": backtest.market, "side": side, "price": price,
         "amount": amount}
        for ms, side, price, amount in (backtest.trade_log or [])
    ]  # fmt: skip
    return series
