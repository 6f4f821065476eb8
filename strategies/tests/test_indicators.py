from __future__ import annotations

import numpy as np
import pytest

from strategies.indicators import log_return, rolling_std, rsi, sma, volatility, zscore


def test_the_moving_average_is_nan_until_its_window_is_full() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    out = sma(values, 3)
    assert np.isnan(out[:2]).all()
    assert out[2:].tolist() == [2.0, 3.0]


def test_the_rolling_deviation_is_the_population_one() -> None:
    out = rolling_std(np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]), 8)
    assert out[-1] == pytest.approx(2.0)


def test_rsi_is_100_when_nothing_fell_0_when_nothing_rose_and_50_when_flat() -> None:
    assert rsi(np.arange(1.0, 20.0), 14)[-1] == 100.0
    assert rsi(np.arange(20.0, 1.0, -1.0), 14)[-1] == 0.0
    assert rsi(np.full(20, 5.0), 14)[-1] == 50.0


def test_rsi_averages_the_gains_and_losses_of_its_window() -> None:
    # Changes +2, -1, +2, -1: average gain 1, average loss 0.5, RS 2, RSI 100 - 100/3.
    close = np.array([10.0, 12.0, 11.0, 13.0, 12.0])
    assert rsi(close, 4)[-1] == pytest.approx(100 - 100 / 3)
    assert np.isnan(rsi(close, 4)[:4]).all()


def test_volatility_is_the_deviation_of_log_returns() -> None:
    close = np.array([100.0, 110.0, 100.0, 110.0])
    up, down = np.log(1.1), np.log(100 / 110)
    assert volatility(close, 3)[-1] == pytest.approx(np.std([up, down, up]))
    assert np.isnan(volatility(close, 3)[:3]).all()


def test_log_returns_look_back_by_their_lag() -> None:
    out = log_return(np.array([1.0, 2.0, 4.0]), 2)
    assert np.isnan(out[:2]).all() and out[2] == pytest.approx(np.log(4.0))


def test_the_zscore_of_a_window_that_never_moved_is_zero() -> None:
    assert zscore(np.full(10, 3.0), 5)[-1] == 0.0
    assert zscore(np.array([1.0, 1.0, 1.0, 4.0]), 4)[-1] == pytest.approx(
        (4 - 1.75) / np.std([1, 1, 1, 4])
    )


@pytest.mark.parametrize(
    "indicator",
    [lambda x: sma(x, 5), lambda x: rsi(x, 5), lambda x: volatility(x, 5), lambda x: zscore(x, 5)],
)
def test_a_value_depends_only_on_its_window_not_on_where_the_series_starts(indicator) -> None:
    rng = np.random.default_rng(3)
    values = 100 + np.cumsum(rng.normal(size=60))
    full = indicator(values)
    late = indicator(values[20:])
    # Bit for bit: the live run (short history) and the backtest (long) must agree.
    assert np.array_equal(full[30:], late[10:])
