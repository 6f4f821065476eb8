"""Candles in, decisions out: the one path from a model to a decision.

``decide_latest`` is what a live run asks; ``replay`` is what a backtest asks,
candle after candle, refitting a learned model walk-forward on the same
schedule it is refitted live (every ``retrain_every`` candles, on what was
known then). Both end in the same ``model.decide(row, state)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strategies.library.base import Decision, FitResult, LearnedModel, StrategyModel
from strategies.series import CandleSeries


class NotEnoughHistory(ValueError):
    pass


def decide_latest(model: StrategyModel, series: CandleSeries, state: Any = None) -> Decision:
    """The decision at the last candle of ``series`` (which must be a closed one)."""
    if len(series) < model.lookback:
        raise NotEnoughHistory(
            f"{model.key} needs {model.lookback} candles, {len(series)} are stored"
        )
    return model.decide(model.features(series)[-1], state)


@dataclass
class Replay:
    start: int
    decisions: list[Decision] = field(default_factory=list)
    # Learned models: the fit made at each candle index where one was made.
    fits: dict[int, FitResult] = field(default_factory=dict)


def replay(
    model: StrategyModel,
    series: CandleSeries,
    *,
    start: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> Replay:
    """The decision at every candle from ``start`` on, as a live run would have made it."""
    features = model.features(series)
    result = Replay(start=start)
    state = None
    next_fit = start
    total = len(series) - start
    every = max(1, total // 50)
    for t in range(start, len(series)):
        if isinstance(model, LearnedModel) and t >= next_fit:
            fitted = model.fit(features, series.close, t)
            if fitted is None:
                next_fit = t + 1  # try again as soon as one more candle is known
            else:
                state = fitted.state
                result.fits[t] = fitted
                next_fit = t + model.retrain_every
        result.decisions.append(model.decide(features[t], state))
        if on_progress is not None and (t - start) % every == 0:
            on_progress(t - start, total)
    return result
