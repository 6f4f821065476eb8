from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from strategies.indicators import rsi, zscore
from strategies.library.base import (
    BUY,
    RISK_PARAMS,
    SELL,
    STAY,
    Decision,
    Param,
    StrategyModel,
    share,
)
from strategies.series import CandleSeries


class MeanReversion(StrategyModel):
    """Bollinger bands and RSI: buy what fell too far, sell what rose too far."""

    key = "mean_reversion"
    title = "Mean reversion"
    summary = "Buys sharp dips and sells stretched rallies, expecting prices to return."
    rule = (
        "Let z = (close - SMA) / standard deviation over window candles (the Bollinger "
        "position) and RSI the relative strength over rsi_window candles. Oversold when "
        "z ≤ -k or RSI ≤ oversold: buy buy_fraction. Overbought when z ≥ k or RSI ≥ "
        "overbought: sell sell_fraction of the position. Hold otherwise (and when both "
        "hold at once). Confidence is 0.5 at the threshold, rising to 1 at twice as far."
    )
    PARAMS: ClassVar[dict[str, Param]] = {
        "window": Param(20, 3, 500, "Bollinger window, in candles", integer=True),
        "k": Param(2.0, 0.5, 5, "band width, in standard deviations"),
        "rsi_window": Param(14, 2, 200, "RSI window, in candles", integer=True),
        "oversold": Param(30, 1, 49, "RSI at or below which the market is oversold"),
        "overbought": Param(70, 51, 99, "RSI at or above which the market is overbought"),
        "buy_fraction": Param(0.5, 0.01, 1, "share of the allocation a dip buys"),
        "sell_fraction": Param(1.0, 0.01, 1, "share of the position a rally sells"),
        **RISK_PARAMS,
    }
    default_markets = ("BTC/USDT", "ETH/USDT", "SOL/USDT")

    @property
    def signal_lookback(self) -> int:
        return int(max(self.window, self.rsi_window + 1))

    def features(self, series: CandleSeries) -> np.ndarray:
        close = series.close
        return np.column_stack([zscore(close, int(self.window)), rsi(close, int(self.rsi_window))])

    def decide(self, row: np.ndarray, state: Any = None) -> Decision:
        z, strength = float(row[0]), float(row[1])
        if np.isnan(z) or np.isnan(strength):
            return STAY
        k, low, high = self.k, self.oversold, self.overbought
        oversold = z <= -k or strength <= low
        overbought = z >= k or strength >= high
        if oversold == overbought:
            return STAY
        if oversold:
            depth = max((-z - k) / k, (low - strength) / low)
            return Decision(BUY, share(self.buy_fraction), share(0.5 + 0.5 * depth))
        depth = max((z - k) / k, (strength - high) / (100 - high))
        return Decision(SELL, share(self.sell_fraction), share(0.5 + 0.5 * depth))
