"""What every strategy model is: causal features in, one decision per candle out.

A model turns a ``CandleSeries`` into a feature matrix whose row t depends on
candles up to t only, and turns one row (plus, for a learned model, its fitted
state) into a ``Decision``. The live run decides on the last row of a recent
window; the backtest decides on every row of the whole history. Both call the
same two methods, so what a backtest shows is what runs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from strategies.series import CandleSeries
from strategies.sizing import TARGET

if TYPE_CHECKING:
    from strategies.library.risk import RiskOverlay

BUY, SELL, HOLD = "buy", "sell", "hold"
ACTIONS = (BUY, SELL, HOLD, TARGET)
SHARE_STEP = Decimal("0.0001")


def share(value: float) -> Decimal:
    """A float clamped to [0, 1] as a Decimal with the four places a signal carries."""
    if math.isnan(value):
        return Decimal(0)
    clamped = min(1.0, max(0.0, value))
    return Decimal(repr(clamped)).quantize(SHARE_STEP, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Decision:
    """``buy``: move ``fraction`` of the allocation into the asset (as far as cash allows);
    ``sell``: sell ``fraction`` of the asset held; ``target``: hold ``fraction`` of the
    allocation's equity in the asset, buying or selling the difference (0: out; see
    ``strategies.sizing``); ``hold``: do nothing.
    ``confidence`` is the model's own 0-1 strength of the call (0 for a hold).
    """

    action: str
    fraction: Decimal
    confidence: Decimal

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")
        for name in ("fraction", "confidence"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not Decimal(0) <= value <= Decimal(1):
                raise ValueError(f"{name} must be a Decimal between 0 and 1, not {value!r}")


STAY = Decision(HOLD, Decimal(0), Decimal(0))


@dataclass(frozen=True)
class FitResult:
    """A fitted state and what it saw: training rows ``first..last`` of the series,
    labelled with candles up to ``end`` (the last candle known when fitting)."""

    state: Any
    first: int
    last: int
    end: int
    rows: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class Param:
    default: float
    low: float
    high: float
    help: str
    integer: bool = False

    def check(self, name: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite")
        if self.integer and int(value) != value:
            raise ValueError(f"{name} must be a whole number")
        if not self.low <= value <= self.high:
            raise ValueError(f"{name} must be between {self.low:g} and {self.high:g}")
        return int(value) if self.integer else float(value)


# The risk overlay's settings (``library.risk``), part of every model's parameters
# with the same defaults for every model, market and timeframe.
RISK_PARAMS: dict[str, Param] = {
    "risk_regime_window": Param(
        600, 0, 5000, "long moving average below which it stays out (0: off)", integer=True
    ),
    "risk_band": Param(0.03, 0, 1, "how far above the long average a buy must be"),
    "risk_brake": Param(0.20, 0.01, 1, "fall from the recent high that sells everything (1: off)"),
    "risk_brake_window": Param(100, 2, 5000, "candles the recent high is taken over", integer=True),
    "risk_target_vol": Param(0.25, 0.01, 10, "annualised volatility a full buy is sized for"),
    "risk_vol_window": Param(120, 2, 5000, "candles the volatility is measured over", integer=True),
}


RISK_RULE = (
    "Every decision then passes the risk overlay, the same in live runs and backtests, "
    "which turns a buy into an exposure target (a share of the allocation's equity to "
    "hold, rebalanced when it drifts more than 5 % away, more when measured trading "
    "costs are higher): the buy's share times risk_target_vol / the annualised "
    "volatility of the last risk_vol_window candles (at most 1), times 0 at the "
    "risk_regime_window-candle average rising to 1 at risk_band above it, times 1 "
    "within half of risk_brake below the highest close of the last risk_brake_window "
    "candles falling to 0 at risk_brake below it. Below the average it buys nothing "
    "(a position held is sold by the model's own sell or the brake); past the brake it "
    "holds nothing, whatever the model says."
)


class StrategyModel(ABC):
    key: ClassVar[str]
    risk_rule: ClassVar[str] = RISK_RULE
    title: ClassVar[str]
    summary: ClassVar[str]
    rule: ClassVar[str]
    PARAMS: ClassVar[dict[str, Param]]
    default_markets: ClassVar[tuple[str, ...]] = ("BTC/USDT", "ETH/USDT")
    default_timeframe: ClassVar[str] = "4h"
    learned: ClassVar[bool] = False

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params: dict[str, float] = self.validate(params or {})

    @classmethod
    def validate(cls, params: Mapping[str, Any]) -> dict[str, float]:
        """Defaults filled in; ValueError for an unknown name or a value out of range."""
        if not isinstance(params, Mapping):
            raise ValueError("params must be an object of name: number")
        unknown = sorted(set(params) - set(cls.PARAMS))
        if unknown:
            raise ValueError(f"unknown parameter(s) for {cls.key}: {', '.join(unknown)}")
        values = {
            name: spec.check(name, params.get(name, spec.default))
            for name, spec in cls.PARAMS.items()
        }
        cls.check_together(values)
        return values

    @classmethod
    def check_together(cls, values: dict[str, float]) -> None:
        """Constraints between parameters; ValueError when broken (none by default)."""
        return None

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    @property
    @abstractmethod
    def signal_lookback(self) -> int:
        """Candles the model's own signal needs: its row ``signal_lookback - 1`` is the
        first without NaN."""

    @property
    def overlay(self) -> RiskOverlay:
        # Cycle: risk builds on this module's Decision and parameters.
        from strategies.library.risk import RiskOverlay

        return RiskOverlay.from_params(self.params)

    @property
    def lookback(self) -> int:
        """Candles a decision needs, the risk overlay's included."""
        return max(self.signal_lookback, self.overlay.lookback)

    @property
    def history(self) -> int:
        """Candles a decision at the newest one reads (and a learned model fits on)."""
        return self.lookback

    @abstractmethod
    def features(self, series: CandleSeries) -> np.ndarray:
        """An (n, k) float matrix; row t reads candles 0..t only."""

    @abstractmethod
    def decide(self, row: np.ndarray, state: Any = None) -> Decision:
        """The decision for one feature row (and a learned model's fitted state)."""


class LearnedModel(StrategyModel):
    """A model with state fitted on past candles, refitted every ``retrain_every`` candles,
    at open times that are multiples of that period since the Unix epoch."""

    learned = True

    @property
    @abstractmethod
    def retrain_every(self) -> int: ...

    @property
    @abstractmethod
    def training_window(self) -> int:
        """Candles a fit learns from (the newest ones whose next close is known)."""

    @property
    def history(self) -> int:
        # A decision uses the fit made at the newest refit time, up to
        # retrain_every - 1 candles earlier, whose window needs full features.
        return self.training_window + self.lookback + self.retrain_every

    @abstractmethod
    def fit(self, features: np.ndarray, close: np.ndarray, end: int) -> FitResult | None:
        """Fit on what was known at the close of candle ``end``; None if too little data."""

    @abstractmethod
    def probability_up(self, row: np.ndarray, state: Any) -> float:
        """The fitted model's chance that the candle after ``row`` closes higher."""

    @abstractmethod
    def load_state(self, data: Mapping[str, Any]) -> Any:
        """A fitted state from its stored JSON; ValueError if it does not fit this model."""

    @abstractmethod
    def dump_state(self, state: Any) -> dict[str, Any]: ...
