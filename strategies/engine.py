"""Candles in, decisions out: the one path from a model to a decision.

``decide_latest`` is what a live run asks; ``replay`` is what a backtest asks,
candle after candle (each decision passed through the model's risk overlay,
``library.risk``, in both), refitting a learned model walk-forward on the same clock
it is refitted live: at each candle whose open time is a multiple of
``retrain_every`` candles since the Unix epoch (``timeframes.refit_anchor``),
on what was known at that candle's close. Both end in the same
``model.decide(row, state)``, so a decision at a time is the same whenever the
backtest or the server started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategies.library.base import Decision, FitResult, LearnedModel, StrategyModel
from strategies.series import CandleSeries
from strategies.timeframes import seconds_of


class NotEnoughHistory(ValueError):
    pass


def decide_latest(model: StrategyModel, series: CandleSeries, state: Any = None) -> Decision:
    """The decision at the last candle of ``series`` (which must be a closed one)."""
    if len(series) < model.lookback:
        raise NotEnoughHistory(
            f"{model.key} needs {model.lookback} candles, {len(series)} are stored"
        )
    return decide_at(model, model.features(series)[-1], model.overlay.features(series)[-1], state)


def decide_at(model: StrategyModel, row: np.ndarray, risk_row: np.ndarray, state: Any) -> Decision:
    """The model's decision on its feature ``row``, passed through its risk overlay:
    the one decision function of live runs and backtests."""
    return model.overlay.apply(model.decide(row, state), risk_row)


@dataclass
class Replay:
    start: int
    decisions: list[Decision] = field(default_factory=list)
    # Learned models: the fit made at each candle index where one was made.
    fits: dict[int, FitResult] = field(default_factory=dict)


def fit_end(open_ms: np.ndarray, anchor_ms: int) -> int:
    """Index of the newest candle opening at or before ``anchor_ms`` (-1 if none)."""
    return int(np.searchsorted(open_ms, anchor_ms, side="right")) - 1


def replay(
    model: StrategyModel,
    series: CandleSeries,
    *,
    start: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> Replay:
    """The decision at every candle from ``start`` on, as a live run would have made it."""
    features = model.features(series)
    risk_rows = model.overlay.features(series)
    result = Replay(start=start)
    state = None
    fitted_for: int | None = None
    period_ms = 0
    if isinstance(model, LearnedModel):
        period_ms = seconds_of(series.timeframe) * model.retrain_every * 1000
    total = len(series) - start
    every = max(1, total // 50)
    for t in range(start, len(series)):
        if period_ms:
            anchor = int(series.open_ms[t]) // period_ms * period_ms
            if anchor != fitted_for:
                # A refit that lacks data keeps the previous state until the next
                # refit time, as a live run does.
                fitted_for = anchor
                end = fit_end(series.open_ms, anchor)
                fitted = model.fit(features, series.close, end) if end >= 0 else None
                if fitted is not None:
                    state = fitted.state
                    result.fits[end] = fitted
        result.decisions.append(decide_at(model, features[t], risk_rows[t], state))
        if on_progress is not None and (t - start) % every == 0:
            on_progress(t - start, total)
    return result
