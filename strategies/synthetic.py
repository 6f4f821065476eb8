"""A fixed synthetic market for backtest regression tests and the benchmark.

Trends that switch direction now and then, a volatility that changes regime,
and swings that revert: enough for each strategy to trade. A pure function of
its arguments (Python's ``random.random`` stream, which the language keeps the
same across versions, with the normal draws made here), so a regression test
pins statistics on the same candles everywhere.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from decimal import Decimal

from strategies.series import CandleSeries
from strategies.timeframes import step

CENT = Decimal("0.01")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _normal(rng: random.Random) -> float:
    u1 = 1.0 - rng.random()  # (0, 1]: log never sees 0
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * rng.random())


def _cents(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(CENT)


def synthetic_rows(
    *,
    candles: int,
    timeframe: str = "4h",
    seed: int = 7,
    start: datetime = EPOCH,
    price: float = 30_000.0,
) -> list[tuple[datetime, Decimal, Decimal, Decimal, Decimal, Decimal]]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible market, not a secret
    width = step(timeframe)
    drift, vol, swing = 0.0, 0.01, 0.0
    trend = math.log(price)
    rows = []
    previous_close = _cents(price)
    for i in range(candles):
        if rng.random() < 0.01:  # a new trend about every hundred candles
            drift = _normal(rng) * 0.001
        if rng.random() < 0.005:  # calm or turbulent for a few hundred candles
            vol = 0.004 + rng.random() * 0.016
        # A random walk with drift, plus a swing that pulls back towards it.
        trend += drift + _normal(rng) * vol * 0.6
        swing = 0.8 * swing + _normal(rng) * vol * 0.8
        close = _cents(math.exp(trend + swing))
        open_ = previous_close
        top = max(open_, close)
        bottom = min(open_, close)
        high = _cents(float(top) * math.exp(abs(_normal(rng)) * vol * 0.3))
        low = _cents(float(bottom) * math.exp(-abs(_normal(rng)) * vol * 0.3))
        volume = Decimal(repr(100.0 * math.exp(_normal(rng) * 0.5))).quantize(Decimal("0.0001"))
        rows.append((start + i * width, open_, max(high, top), min(low, bottom), close, volume))
        previous_close = close
    return rows


def synthetic_series(
    *, candles: int, timeframe: str = "4h", seed: int = 7, start: datetime = EPOCH
) -> CandleSeries:
    return CandleSeries.from_rows(
        timeframe, synthetic_rows(candles=candles, timeframe=timeframe, seed=seed, start=start)
    )


# Named regimes for risk checks: (drift per candle, swing pull-back strength).
# Over the default 4,000 candles (about two years of 4 h): a bear market loses
# about 80 %, a bull market gains about 5x, a sideways one drifts nowhere but
# swings; a crash is a bull run that gives it all back and more.
REGIMES: dict[str, tuple[float, ...]] = {
    "bear": (-0.0004,),
    "bull": (0.0004,),
    "sideways": (0.0,),
    "crash": (0.0006, -0.0012),
}


def regime_series(
    regime: str, *, candles: int = 4000, timeframe: str = "4h", seed: int = 11
) -> CandleSeries:
    """A market whose trend is fixed by ``regime`` (its drift split evenly over the
    candles when it has several), with noise, swings and turbulent spells like
    ``synthetic_rows`` but scaled to real 4 h crypto candles (about 1 % a candle,
    as BTC/ETH 2023-2026 move, rather than ``synthetic_rows``' stress-test 2 %)."""
    drifts = REGIMES[regime]
    rng = random.Random(seed)  # noqa: S311 - a reproducible market, not a secret
    width = step(timeframe)
    vol, swing = 0.01, 0.0
    trend = math.log(30_000.0)
    rows = []
    previous_close = _cents(30_000.0)
    for i in range(candles):
        drift = drifts[min(len(drifts) - 1, i * len(drifts) // candles)]
        if rng.random() < 0.005:
            vol = 0.004 + rng.random() * 0.012
        trend += drift + _normal(rng) * vol * 0.8
        swing = 0.8 * swing + _normal(rng) * vol * 0.4
        close = _cents(math.exp(trend + swing))
        open_ = previous_close
        high = _cents(float(max(open_, close)) * math.exp(abs(_normal(rng)) * vol * 0.3))
        low = _cents(float(min(open_, close)) * math.exp(-abs(_normal(rng)) * vol * 0.3))
        rows.append(
            (
                EPOCH + i * width,
                open_,
                max(high, open_, close),
                min(low, open_, close),
                close,
                Decimal(100),
            )
        )
        previous_close = close
    return CandleSeries.from_rows(timeframe, rows)
