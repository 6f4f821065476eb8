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
