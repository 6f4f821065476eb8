"""Causal indicators over float arrays: the value at t reads only values up to t.

Every windowed statistic is computed from its own window alone (no running
sums, no exponential smoothing), so the value at t is bit-for-bit the same
whether the series starts a year or a week before t: the live run, which sees
a short recent window, and the backtest, which sees all history, agree exactly.
Warm-up positions hold NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windowed(values: np.ndarray, window: int, reduce: str, ddof: int = 0) -> np.ndarray:
    if window < 1:
        raise ValueError("window must be at least 1")
    out = np.full(len(values), np.nan)
    if len(values) < window:
        return out
    view = sliding_window_view(values, window)
    if reduce == "mean":
        out[window - 1 :] = view.mean(axis=1)
    else:
        out[window - 1 :] = view.std(axis=1, ddof=ddof)
    return out


def sma(values: np.ndarray, window: int) -> np.ndarray:
    return _windowed(values, window, "mean")


def rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    """Population standard deviation of each window (Bollinger's convention)."""
    return _windowed(values, window, "std")


def log_return(close: np.ndarray, lag: int = 1) -> np.ndarray:
    """log(close[t] / close[t - lag]); NaN for the first ``lag`` positions."""
    out = np.full(len(close), np.nan)
    if len(close) > lag:
        out[lag:] = np.log(close[lag:] / close[:-lag])
    return out


def volatility(close: np.ndarray, window: int) -> np.ndarray:
    """Standard deviation of the last ``window`` one-candle log returns."""
    returns = log_return(close)
    out = np.full(len(close), np.nan)
    if len(close) > window:
        out[window:] = sliding_window_view(returns[1:], window).std(axis=1)
    return out


def rsi(close: np.ndarray, window: int) -> np.ndarray:
    """Relative strength index with simple averages of the last ``window`` changes.

    (Cutler's variant: Wilder's smoothing would make the value depend on how
    far back the series starts.) 100 when nothing fell, 50 when nothing moved.
    """
    out = np.full(len(close), np.nan)
    if len(close) <= window:
        return out
    change = np.diff(close)
    gains = sliding_window_view(np.clip(change, 0.0, None), window).mean(axis=1)
    losses = sliding_window_view(np.clip(-change, 0.0, None), window).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 100.0 - 100.0 / (1.0 + gains / losses)
    values = np.where(losses == 0, np.where(gains == 0, 50.0, 100.0), values)
    out[window:] = values
    return out


def zscore(values: np.ndarray, window: int) -> np.ndarray:
    """Distance of each value from its window's mean, in window standard deviations.

    0 where the window did not move at all (no spread to measure against).
    """
    mean = sma(values, window)
    spread = rolling_std(values, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (values - mean) / spread
    return np.where(spread == 0, 0.0, out)
