from __future__ import annotations

import itertools
import math

import ccxt
import pytest

from paper import prices
from paper.markets import MARKETS

NOW = 29_450_000  # a minute index (early 2026)


def test_the_same_seed_gives_the_same_candles_and_another_seed_other_ones() -> None:
    first = prices.ohlcv(7, "ETH/USDT", "15m", now_minute=NOW, limit=50)
    prices._minute_raw.cache_clear()
    prices._close.cache_clear()
    prices._hour_raw.cache_clear()
    again = prices.ohlcv(7, "ETH/USDT", "15m", now_minute=NOW, limit=50)
    other = prices.ohlcv(8, "ETH/USDT", "15m", now_minute=NOW, limit=50)
    assert first == again
    assert [c.close for c in first] != [c.close for c in other]


def test_a_price_is_computed_alone_without_the_history_before_it() -> None:
    far_away = prices.price_at(42, "BTC/USDT", NOW + 5_000_000)
    assert far_away > 0
    assert prices.price_at(42, "BTC/USDT", NOW + 5_000_000) == far_away


@pytest.mark.parametrize("timeframe", list(prices.TIMEFRAME_MINUTES))
def test_every_candle_is_consistent(timeframe: str) -> None:
    count = max(3, min(40, 6_000 // prices.TIMEFRAME_MINUTES[timeframe]))  # keep it quick
    for symbol in MARKETS:
        for candle in prices.ohlcv(42, symbol, timeframe, now_minute=NOW, limit=count):
            assert candle.low <= min(candle.open, candle.close)
            assert candle.high >= max(candle.open, candle.close)
            assert candle.low > 0 and candle.volume > 0


def test_a_long_candle_spans_exactly_the_minutes_inside_it() -> None:
    (hour,) = prices.ohlcv(
        42, "SOL/USDT", "1h", now_minute=NOW, since_ms=(NOW - 600) * 60_000, limit=1
    )
    minutes = [prices.minute_candle(42, "SOL/USDT", hour.start_minute + i) for i in range(60)]
    assert hour.open == minutes[0].open
    assert hour.close == minutes[-1].close
    assert hour.high == max(m.high for m in minutes)
    assert hour.low == min(m.low for m in minutes)


def test_each_candle_opens_where_the_one_before_closed() -> None:
    candles = prices.ohlcv(42, "BTC/USDT", "5m", now_minute=NOW, limit=30)
    assert all(a.close == b.open for a, b in itertools.pairwise(candles))


def test_the_newest_candle_is_the_open_one_and_ends_at_the_current_price() -> None:
    candles = prices.ohlcv(42, "BTC/USDT", "1h", now_minute=NOW, limit=3)
    assert candles[-1].start_minute == NOW - NOW % 60
    assert candles[-1].close == prices.price_at(42, "BTC/USDT", NOW)
    assert [c.start_minute for c in candles] == [
        candles[-1].start_minute - 120 + 60 * i for i in range(3)
    ]


def test_since_returns_candles_opening_at_or_after_it() -> None:
    since_ms = (NOW - 90) * 60_000 + 1  # just after a 15-minute boundary
    candles = prices.ohlcv(42, "BTC/USDT", "15m", now_minute=NOW, since_ms=since_ms, limit=3)
    assert candles[0].timestamp_ms >= since_ms
    assert candles[0].timestamp_ms - since_ms < 15 * 60_000
    assert len(candles) == 3


def test_prices_trend_and_swing_like_a_market() -> None:
    daily = prices.ohlcv(42, "BTC/USDT", "4h", now_minute=NOW, limit=180)  # a month
    closes = [float(c.close) for c in daily]
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    spread = max(closes) / min(closes)
    assert spread > 1.05  # a month moves the price by more than 5 %
    assert max(abs(r) for r in returns) < 0.08  # ... without absurd jumps
    # Trends: moves persist more than a coin flip would (positive autocorrelation of 1-day sums).
    day_moves = [sum(returns[i : i + 6]) for i in range(0, len(returns) - 6, 6)]
    assert any(m > 0 for m in day_moves) and any(m < 0 for m in day_moves)


def test_btc_trades_at_nearly_the_same_price_against_usdt_and_usdc() -> None:
    usdt = prices.price_at(42, "BTC/USDT", NOW)
    usdc = prices.price_at(42, "BTC/USDC", NOW)
    assert abs(usdt - usdc) / usdt < 0.01


def test_an_unknown_timeframe_is_a_bad_request() -> None:
    with pytest.raises(ccxt.BadRequest, match="timeframe"):
        prices.ohlcv(42, "BTC/USDT", "3h", now_minute=NOW, limit=1)
