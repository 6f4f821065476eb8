from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from strategies.charts import (
    HEIGHT,
    PAD,
    WIDTH,
    backtest_series,
    drawdown_chart,
    equity_chart,
    thin_curve,
)
from strategies.tests.factories import (
    START,
    BacktestFactory,
    StrategyFactory,
    rows_from_closes,
    store_rows,
)

D = Decimal


def test_a_thinned_curve_keeps_the_start_then_each_buckets_last_equity_and_deepest_drawdown() -> (
    None
):
    times = list(range(11))
    equity = [D(v) for v in (100, 100, 90, 80, 95, 100, 110, 99, 120, 121, 122)]
    drawdown = [D(v) for v in ("0", "0", "0.1", "0.2", "0.05", "0", "0", "0.1", "0", "0", "0")]
    curve = thin_curve(times, equity, drawdown, max_points=3)
    assert curve == [
        [0, "100.00", "0.000000"],
        [5, "100.00", "0.200000"],
        [10, "122.00", "0.100000"],
    ]


def test_a_short_curve_is_kept_whole() -> None:
    curve = thin_curve([1, 2, 3], [D(1), D(2), D(3)], [D(0), D(0), D(0)])
    assert [p[0] for p in curve] == [1, 2, 3]
    assert thin_curve([1], [D(1)], [D(0)]) == [[1, "1.00", "0.000000"]]
    assert thin_curve([], [], []) == []


def test_the_equity_line_spans_the_chart_with_the_peak_at_the_top() -> None:
    chart = equity_chart([[0, "100.00", "0"], [1, "150.00", "0"], [2, "50.00", "0.6"]])
    assert chart is not None
    points = [tuple(map(float, p.split(","))) for p in chart.points.split()]
    assert points[0][0] == PAD and points[-1][0] == WIDTH - PAD
    assert points[1][1] == PAD and points[2][1] == HEIGHT - PAD
    assert (chart.top_label, chart.bottom_label) == ("150.00", "50.00")


def test_the_drawdown_chart_hangs_from_zero() -> None:
    chart = drawdown_chart([[0, "1", "0"], [1, "1", "0.25"]])
    assert chart is not None
    points = [tuple(map(float, p.split(","))) for p in chart.points.split()]
    assert points[0][1] == PAD and points[1][1] == HEIGHT - PAD
    assert chart.bottom_label == "-25.0%"


def test_no_curve_no_chart() -> None:
    assert equity_chart([]) is None and drawdown_chart([]) is None


@pytest.mark.django_db
def test_a_backtest_on_the_shipped_real_history_charts_its_candles_and_trade_markers() -> None:
    # The strategy trades on paper; the backtest replayed the stored Binance history.
    closes = [40000 + 100 * i for i in range(180)]
    store_rows(rows_from_closes(closes), exchange_id="binance", market="BTC/USDT")
    first_ms = int(START.timestamp() * 1000)
    backtest = BacktestFactory(
        strategy=StrategyFactory(exchange_id="paper"),
        exchange_id="binance",
        curve=[[first_ms, "10000", "0"], [first_ms + 86_400_000, "10100", "0"]],
        trade_log=[[first_ms, "buy", "40000", "0.1"]],
    )
    series = backtest_series(backtest)
    assert series["candles"]["BTC/USDT"], "no price chart: candles read from the paper exchange"
    assert series["markers"] == [
        {"time": first_ms // 1000, "market": "BTC/USDT", "side": "buy", "price": "40000",
         "amount": "0.1"}
    ]  # fmt: skip
    assert series["benchmark"]


@pytest.mark.django_db
def test_buy_and_hold_starts_where_the_strategy_starts_after_its_warm_up() -> None:
    # The first 50 candles only warm the model up: its curve starts at candle 50,
    # after the price doubled. Holding is bought there too, with the same capital.
    closes = [100.0] * 25 + [200.0] * 155
    store_rows(rows_from_closes(closes), exchange_id="binance", market="BTC/USDT")
    first_ms = int((START + timedelta(hours=4 * 50)).timestamp() * 1000)
    backtest = BacktestFactory(
        exchange_id="binance",
        curve=[[first_ms, "10000", "0"], [first_ms + 86_400_000, "10100", "0"]],
    )
    series = backtest_series(backtest)
    # Before, holding was bought at the first warm-up candle: it started the chart at
    # 20,000 and showed +100% against the strategy's +1% on a flat market.
    assert series["benchmark"][0] == [first_ms // 1000, "10000.00"]
    assert series["buy_and_hold"] == 0
