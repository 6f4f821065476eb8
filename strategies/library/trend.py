from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from strategies.indicators import sma, volatility
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


class TrendFollowing(StrategyModel):
    """Moving-average crossover with a volatility filter."""

    key = "trend_following"
    title = "Trend following"
    summary = "Rides sustained moves: long while the fast average is above the slow one."
    rule = (
        "Let spread = fast SMA / slow SMA - 1 of the closes and volatility the standard "
        "deviation of the last vol_window log returns. Buy buy_fraction when spread > band "
        "and volatility ≤ max_volatility (no new entries in turbulent markets); sell "
        "sell_fraction of the position when spread < -band; hold otherwise. Confidence is "
        "|spread| / volatility / 4, capped at 1."
    )
    PARAMS: ClassVar[dict[str, Param]] = {
        "fast": Param(20, 2, 500, "fast moving average, in candles", integer=True),
        "slow": Param(50, 3, 1000, "slow moving average, in candles", integer=True),
        "vol_window": Param(30, 2, 1000, "candles the volatility is measured over", integer=True),
        "max_volatility": Param(0.03, 0.0001, 1, "highest per-candle volatility to enter at"),
        "band": Param(0.002, 0, 0.5, "dead zone around a crossover, as a share of price"),
        "buy_fraction": Param(1.0, 0.01, 1, "share of the allocation an entry uses"),
        "sell_fraction": Param(1.0, 0.01, 1, "share of the position an exit sells"),
        **RISK_PARAMS,
    }
    default_markets = ("BTC/USDT", "ETH/USDT", "BTC/USDC", "ETH/USDC")

    @classmethod
    def check_together(cls, values: dict[str, float]) -> None:
        if values["fast"] >= values["slow"]:
            raise ValueError("fast must be shorter than slow")

    @property
    def signal_lookback(self) -> int:
        return int(max(self.slow, self.vol_window + 1))

    def features(self, series: CandleSeries) -> np.ndarray:
        close = series.close
        return np.column_stack(
            [
                sma(close, int(self.fast)),
                sma(close, int(self.slow)),
                volatility(close, int(self.vol_window)),
            ]
        )

    def decide(self, row: np.ndarray, state: Any = None) -> Decision:
        fast, slow, vol = (float(v) for v in row)
        if np.isnan(fast) or np.isnan(slow) or np.isnan(vol):
            return STAY
        spread = fast / slow - 1.0
        strength = abs(spread) / vol if vol > 0 else float("inf")
        confidence = share(strength / 4.0)
        if spread > self.band:
            if vol > self.max_volatility:
                return STAY
            return Decision(BUY, share(self.buy_fraction), confidence)
        if spread < -self.band:
            return Decision(SELL, share(self.sell_fraction), confidence)
        return STAY
