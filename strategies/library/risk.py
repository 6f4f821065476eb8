"""The risk overlay every strategy's decisions pass through, live and in backtests.

A model says what it would like to do; the overlay decides how much of that
the market allows. Three simple rules, the same parameters for every market
and timeframe (they are counted in candles, like the models' own windows):

- **regime filter**: below its long moving average (``regime_window`` closes)
  the market is in a downtrend: no buying. A position already held is left to
  the model's own exit and to the brake: selling at the average and buying back
  above it is what cost most in ranges (bought near the line, sold just below
  it, again and again), while the model's own exits were the profitable ones
  (benchmarks/README.md);
- **drawdown brake**: when the close is more than ``brake`` below the highest
  close of the last ``brake_window`` candles the position is sold and no buy is
  made until the market has recovered within ``brake`` of that high (or the
  high has left the window) — it cuts exposure before a loss becomes a crash;
- **volatility target**: a buy is scaled by ``target_vol`` / the market's
  annualised volatility (capped at 1), so a turbulent market is entered with
  smaller steps.

Every rule reads candles up to the decision's own only (windowed, no running
state), so the live run, which sees the newest ``lookback`` candles, and the
backtest, which sees all history, make the same decision at the same candle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from strategies.indicators import sma, volatility
from strategies.library.base import BUY, RISK_PARAMS, SELL, STAY, TARGET, Decision, share
from strategies.series import CandleSeries
from strategies.timeframes import periods_per_year


def rolling_max(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = sliding_window_view(values, window).max(axis=1)
    return out


@dataclass(frozen=True)
class RiskOverlay:
    regime_window: int
    band: float
    brake: float
    brake_window: int
    target_vol: float
    vol_window: int

    @classmethod
    def from_params(cls, params: Mapping[str, float]) -> RiskOverlay:
        """From a model's validated params (``risk_*``, see ``base.RISK_PARAMS``)."""
        values = {name: params[name] for name in RISK_PARAMS}
        return cls(
            regime_window=int(values["risk_regime_window"]),
            band=float(values["risk_band"]),
            brake=float(values["risk_brake"]),
            brake_window=int(values["risk_brake_window"]),
            target_vol=float(values["risk_target_vol"]),
            vol_window=int(values["risk_vol_window"]),
        )

    @property
    def lookback(self) -> int:
        return max(self.regime_window, self.brake_window, self.vol_window + 1)

    def features(self, series: CandleSeries) -> np.ndarray:
        """(n, 4): close, regime average, recent high, annualised volatility."""
        close = series.close
        scale = math.sqrt(periods_per_year(series.timeframe)) if len(series) else 1.0
        return np.column_stack(
            [
                close,
                # A window of 0 switches the regime filter off: never below it.
                sma(close, self.regime_window)
                if self.regime_window
                else np.full(len(close), -np.inf),
                rolling_max(close, self.brake_window),
                volatility(close, self.vol_window) * scale,
            ]
        )

    def state(self, row: np.ndarray) -> str:
        """``off``: out of the market (past the brake); ``below``: under the
        regime average, nothing is bought; ``wait``: between the exit and
        re-entry lines (exposure scaled down); ``on``: the model decides;
        ``warmup``: too little history to judge.

        An exit line and a stricter re-entry line (``band`` above the regime
        average, half the brake below the high) keep a market that hovers around
        one line from being sold and bought back candle after candle.
        """
        close, regime, high, _vol = (float(v) for v in row[:4])
        if math.isnan(regime) or math.isnan(high):
            return "warmup"
        if close < high * (1.0 - self.brake):
            return "off"
        if close < regime:
            return "below"
        if close < regime * (1.0 + self.band) or close < high * (1.0 - self.brake / 2):
            return "wait"
        return "on"

    def exposure(self, row: np.ndarray) -> float:
        """The largest share of equity the market allows at this row, in [0, 1].

        The volatility target (``target_vol`` / annualised volatility, at most
        1), times the regime's scale (0 below the average, rising to 1 at
        ``band`` above it), times the brake's (1 within half the brake of the
        recent high, falling to 0 at the brake): exposure is cut step by step as
        the market turns, not all at once.
        """
        close, regime, high, vol = (float(v) for v in row[:4])
        if math.isnan(regime) or math.isnan(high):
            return 0.0
        vol_scale = 1.0 if not vol > 0 or math.isnan(vol) else min(1.0, self.target_vol / vol)
        # A regime window of 0 (average -inf) or a brake of 1 switches that rule off.
        if not math.isfinite(regime) or regime <= 0 or close < regime:
            regime_scale = 1.0 if not math.isfinite(regime) else 0.0
        else:
            regime_scale = 1.0 if self.band <= 0 else (close / regime - 1.0) / self.band
        fall = 1.0 - close / high if high > 0 else 0.0
        brake_scale = 1.0 if self.brake >= 1 else (self.brake - fall) / (self.brake / 2)
        return vol_scale * _unit(regime_scale) * _unit(brake_scale)

    def apply(self, decision: Decision, row: np.ndarray) -> Decision:
        """The model's ``decision`` as an exposure target limited by the risk rules.

        A buy of f becomes a target of f times ``exposure`` (rebalanced by the
        shared sizing: a model that keeps saying buy holds that share, no more);
        below the regime average a buy becomes a hold; past the brake the target
        is 0 whatever the model wanted; sells and holds pass as they are (a hold
        keeps the position, a sell sells its share).
        """
        state = self.state(row)
        if state == "warmup":
            return STAY
        if state == "below":
            return STAY if decision.action == BUY else decision
        if state == "off":
            confidence = decision.confidence if decision.action == SELL else Decimal(1)
            return Decision(TARGET, Decimal(0), confidence)
        if decision.action != BUY:
            return decision
        target = share(float(decision.fraction) * self.exposure(row))
        return Decision(TARGET, target, decision.confidence)


def _unit(value: float) -> float:
    return max(0.0, min(1.0, value))
