"""Deterministic synthetic prices: a pure function of (seed, symbol, minute).

Any process computes the same candle for the same minute, with no stored
history. The log-price of an asset is a sum of
- slow sinusoids (periods of days to weeks, seeded phases): trends a
  trend-following strategy can ride;
- smooth value noise at several scales (15 min to 2 weeks): non-periodic swings
  that revert around the trend, scaled by a slowly breathing volatility regime;
- per-minute noise, plus wicks for each minute's high and low.
Each term costs O(1) per minute. A candle of n minutes aggregates its minutes
(complete hours are cached), so its high and low are exactly the extremes of
the 1-minute candles inside it, and low ≤ open, close ≤ high always holds.

The price "now" is the close of the current minute: constant within a minute.

The slowest wave (±10 % over about four weeks) carries most of the movement
(two thirds of the log-price variance of a year of BTC 4 h closes), so the
series is nearly periodic: a crossover slow enough for real markets (the
default 50/200 on 4 h) acts about a quarter-wave late and buys near tops and
sells near bottoms. These prices exercise the platform; backtests on them say
nothing about a strategy, and the backtest page says so.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from hashlib import blake2b

import ccxt

from paper.markets import EXCHANGE_ID, market_spec

TIMEFRAME_MINUTES: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}
MS_PER_MINUTE = 60_000

# Roughly where these assets traded when the paper exchange was written.
_START_PRICE = {"BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0}
# How much more an asset swings than BTC, and a typical minute's volume (base units).
_VOLATILITY = {"BTC": 1.0, "ETH": 1.2, "SOL": 1.6}
_MINUTE_VOLUME = {"BTC": 4.0, "ETH": 60.0, "SOL": 1_500.0}

# (log amplitude, period in minutes): the trends.
_WAVES = ((0.10, 43_200.0), (0.04, 10_080.0), (0.01, 2_880.0), (0.004, 360.0))
# (log amplitude, knot spacing in minutes): the swings.
_OCTAVES = ((0.05, 20_160), (0.012, 1_440), (0.006, 240), (0.003, 60), (0.0015, 15))
_MINUTE_NOISE = 0.0004
_WICK = 0.0006
_VOLATILITY_PERIOD = 4_320.0  # the regime breathes over about three days
_TO_UNIT = 2.0**-64


@dataclass(frozen=True)
class Candle:
    start_minute: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @property
    def timestamp_ms(self) -> int:
        return self.start_minute * MS_PER_MINUTE

    def as_ccxt(self) -> list[float | int]:
        return [
            self.timestamp_ms,
            float(self.open),
            float(self.high),
            float(self.low),
            float(self.close),
            float(self.volume),
        ]


def minute_of(when: datetime) -> int:
    return math.floor(when.timestamp() / 60)


def timeframe_minutes(timeframe: str) -> int:
    try:
        return TIMEFRAME_MINUTES[timeframe]
    except KeyError:
        raise ccxt.BadRequest(
            f"{EXCHANGE_ID} timeframe {timeframe!r} is not one of {', '.join(TIMEFRAME_MINUTES)}"
        ) from None


def _units(seed: int, key: str, index: int, count: int) -> tuple[float, ...]:
    """``count`` uniform numbers in [0, 1), a pure function of the arguments."""
    digest = blake2b(f"{seed}|{key}|{index}".encode(), digest_size=8 * count).digest()
    return tuple(value * _TO_UNIT for value in struct.unpack(f">{count}Q", digest))


@lru_cache(maxsize=64)
def _asset_shape(seed: int, asset: str) -> tuple[tuple[tuple[float, float, float], ...], float]:
    """Seeded periods and phases for an asset's waves, and its regime phase."""
    waves = []
    for i, (amplitude, period) in enumerate(_WAVES):
        stretch, phase = _units(seed, f"{asset}/wave", i, 2)
        waves.append((amplitude, period * (0.8 + 0.4 * stretch), 2 * math.pi * phase))
    (regime_phase,) = _units(seed, f"{asset}/regime", 0, 1)
    return tuple(waves), 2 * math.pi * regime_phase


@lru_cache(maxsize=131_072)
def _knot(seed: int, asset: str, spacing: int, index: int) -> float:
    return 2.0 * _units(seed, f"{asset}/knot{spacing}", index, 1)[0] - 1.0


def _value_noise(seed: int, asset: str, spacing: int, minute: int) -> float:
    index, offset = divmod(minute, spacing)
    a = _knot(seed, asset, spacing, index)
    b = _knot(seed, asset, spacing, index + 1)
    t = offset / spacing
    t = t * t * (3.0 - 2.0 * t)  # smoothstep: no kinks at the knots
    return a + (b - a) * t


def _regime(seed: int, asset: str, minute: int) -> float:
    _, phase = _asset_shape(seed, asset)
    return math.exp(0.35 * math.sin(2 * math.pi * minute / _VOLATILITY_PERIOD + phase))


def _asset_log_price(seed: int, asset: str, minute: int, regime: float) -> float:
    waves, _ = _asset_shape(seed, asset)
    scale = _VOLATILITY.get(asset, 1.0)
    x = math.log(_START_PRICE.get(asset, 100.0))
    for amplitude, period, phase in waves:
        x += scale * amplitude * math.sin(2 * math.pi * minute / period + phase)
    for amplitude, spacing in _OCTAVES:
        # Only the fast swings follow the volatility regime; slow ones are the trend.
        weight = regime if spacing < 1_440 else 1.0
        x += scale * weight * amplitude * _value_noise(seed, asset, spacing, minute)
    return x


@lru_cache(maxsize=262_144)
def _draws(seed: int, symbol: str, minute: int) -> tuple[float, ...]:
    """A minute's random draws: noise, upper wick, lower wick, volume."""
    return _units(seed, symbol, minute, 4)


@lru_cache(maxsize=262_144)
def _close(seed: int, symbol: str, minute: int) -> float:
    spec = market_spec(symbol)
    noise = _draws(seed, symbol, minute)[0]
    regime = _regime(seed, spec.base, minute)
    scale = _VOLATILITY.get(spec.base, 1.0)
    # Uniform noise scaled to the wanted standard deviation (sd of U(-1,1) is 1/sqrt 3).
    jitter = (2.0 * noise - 1.0) * math.sqrt(3.0) * _MINUTE_NOISE * regime * scale
    return math.exp(_asset_log_price(seed, spec.base, minute, regime) + jitter)


@lru_cache(maxsize=131_072)
def _minute_raw(seed: int, symbol: str, minute: int) -> tuple[float, float, float, float, float]:
    """One minute's (open, high, low, close, volume) as floats, before rounding."""
    spec = market_spec(symbol)
    open_ = _close(seed, symbol, minute - 1)
    close = _close(seed, symbol, minute)
    _, wick_up, wick_down, volume_draw = _draws(seed, symbol, minute)
    size = _WICK * _regime(seed, spec.base, minute) * _VOLATILITY.get(spec.base, 1.0)
    high = max(open_, close) * math.exp(size * wick_up * wick_up)
    low = min(open_, close) * math.exp(-size * wick_down * wick_down)
    # Busier when the price moves: volume grows with the minute's range.
    move = abs(math.log(close / open_)) / (_MINUTE_NOISE * 2)
    busy_day = 1.0 + 0.5 * _value_noise(seed, f"{spec.base}/volume", 1_440, minute)
    volume = _MINUTE_VOLUME.get(spec.base, 10.0) * (0.3 + 1.4 * volume_draw) * (1.0 + move)
    volume *= busy_day
    return open_, high, low, close, volume


def _merge(
    parts: list[tuple[float, float, float, float, float]],
) -> tuple[float, float, float, float, float]:
    return (
        parts[0][0],
        max(p[1] for p in parts),
        min(p[2] for p in parts),
        parts[-1][3],
        sum(p[4] for p in parts),
    )


@lru_cache(maxsize=32_768)
def _hour_raw(seed: int, symbol: str, hour: int) -> tuple[float, float, float, float, float]:
    """A complete hour; cached because days and 24 h tickers are built from hours."""
    return _merge([_minute_raw(seed, symbol, hour * 60 + i) for i in range(60)])


def _span_raw(
    seed: int, symbol: str, first: int, last: int
) -> tuple[float, float, float, float, float]:
    parts = []
    minute = first
    while minute <= last:
        if minute % 60 == 0 and minute + 59 <= last:
            parts.append(_hour_raw(seed, symbol, minute // 60))
            minute += 60
        else:
            parts.append(_minute_raw(seed, symbol, minute))
            minute += 1
    return _merge(parts)


def _to_candle(symbol: str, start: int, raw: tuple[float, float, float, float, float]) -> Candle:
    tick = market_spec(symbol).tick_size

    def at(value: float, rounding: str) -> Decimal:
        return (Decimal(repr(value)) / tick).to_integral_value(rounding=rounding) * tick

    # High rounds up and low rounds down, so rounding never breaks low ≤ open, close ≤ high.
    return Candle(
        start_minute=start,
        open=at(raw[0], ROUND_HALF_UP),
        high=at(raw[1], ROUND_CEILING),
        low=at(raw[2], ROUND_FLOOR),
        close=at(raw[3], ROUND_HALF_UP),
        volume=Decimal(repr(raw[4])).quantize(Decimal("0.00000001")),
    )


def span_candle(seed: int, symbol: str, first_minute: int, last_minute: int) -> Candle:
    """The candle covering minutes first..last inclusive."""
    return _to_candle(symbol, first_minute, _span_raw(seed, symbol, first_minute, last_minute))


def minute_candle(seed: int, symbol: str, minute: int) -> Candle:
    return _to_candle(symbol, minute, _minute_raw(seed, symbol, minute))


def minute_range(seed: int, symbol: str, minute: int) -> tuple[float, float]:
    """A minute's (low, high) before rounding to the tick: a cheap first look."""
    _, high, low, _, _ = _minute_raw(seed, symbol, minute)
    return low, high


def price_at(seed: int, symbol: str, minute: int) -> Decimal:
    """The traded price during ``minute`` (the close of that minute's candle)."""
    return minute_candle(seed, symbol, minute).close


def ohlcv(
    seed: int,
    symbol: str,
    timeframe: str,
    *,
    now_minute: int,
    since_ms: int | None = None,
    limit: int = 500,
) -> list[Candle]:
    """Candles oldest first; the last one may be the still-open current candle.

    Without ``since_ms`` the newest ``limit`` candles; with it, up to ``limit``
    candles opening at or after ``since_ms`` (as Binance's klines do).
    """
    width = timeframe_minutes(timeframe)
    current = now_minute // width
    # The newest candles, or those opening at or after since_ms (ceiling division).
    first = current - limit + 1 if since_ms is None else -(-since_ms // (width * MS_PER_MINUTE))
    last = min(first + limit - 1, current)
    candles = []
    for index in range(first, last + 1):
        start = index * width
        end = min(start + width - 1, now_minute)
        candles.append(span_candle(seed, symbol, start, end))
    return candles
