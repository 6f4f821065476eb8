"""Fitting learned models on stored candles, versioned, and loading their state.

A (strategy, market) is due for a refit when ``retrain_every`` candles closed
since the candle its current state was fitted up to: the cadence the backtest
replays (``engine.replay``), so a backtest shows the model as it is run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from strategies.library.base import LearnedModel
from strategies.market_data import candle_series, candles_sync
from strategies.models import ModelState, Strategy
from strategies.series import CandleSeries
from strategies.timeframes import last_closed, step

logger = logging.getLogger(__name__)


class NotEnoughCandles(ValueError):
    pass


@dataclass(frozen=True)
class LoadedState:
    row: ModelState
    state: Any


def latest_state(*, strategy: Strategy, market: str, model: LearnedModel) -> LoadedState | None:
    """The newest stored state that loads for this model; an unreadable one is skipped."""
    for row in ModelState.objects.filter(strategy=strategy, market=market).order_by("-version")[:3]:
        try:
            return LoadedState(row=row, state=model.load_state(row.fitted))
        except ValueError as exc:
            logger.warning("%s %s v%s does not load: %s", strategy.slug, market, row.version, exc)
    return None


def is_due(
    loaded: LoadedState | None, *, model: LearnedModel, period: datetime, timeframe: str
) -> bool:
    if loaded is None:
        return True
    return period >= loaded.row.data_end + model.retrain_every * step(timeframe)


def model_retrain(
    *,
    strategy: Strategy,
    market: str,
    model: LearnedModel,
    series: CandleSeries,
    now: datetime | None = None,
) -> ModelState:
    """Fit on ``series`` (stored candles up to the newest closed one) and store version n+1.

    Side effect: a ModelState row with the fitted numbers, the data range seen
    and hold-out metrics. Raises NotEnoughCandles when the fit has too few usable
    candles. Two processes fitting at once: the later one keeps the earlier's row.
    """
    features = model.features(series)
    end = len(series) - 1
    fitted = model.fit(features, series.close, end)
    if fitted is None:
        raise NotEnoughCandles(
            f"{strategy.slug} {market}: too few usable candles to fit ({len(series)} stored)"
        )
    metrics: dict[str, float] = dict(fitted.metrics)
    metrics.update(_holdout(model, features, series, end))
    with transaction.atomic():
        current = (
            ModelState.objects.filter(strategy=strategy, market=market)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        try:
            with transaction.atomic():
                return ModelState.objects.create(
                    strategy=strategy,
                    market=market,
                    version=(current or 0) + 1,
                    trained_at=now or timezone.now(),
                    data_start=series.open_time(fitted.first),
                    data_end=series.open_time(fitted.end),
                    rows=fitted.rows,
                    fitted=model.dump_state(fitted.state),
                    metrics=metrics,
                )
        except IntegrityError:
            return ModelState.objects.filter(strategy=strategy, market=market).latest("version")


def _holdout(
    model: LearnedModel, features: np.ndarray, series: CandleSeries, end: int
) -> dict[str, float]:
    """Accuracy on the newest fifth of the window, of a fit that did not see it."""
    cut = end - max(1, model.training_window // 5)
    earlier = model.fit(features, series.close, cut)
    if earlier is None:
        return {}
    hits = total = 0
    for t in range(cut, end):
        change = series.close[t + 1] - series.close[t]
        if change == 0 or np.isnan(features[t]).any():
            continue
        predicted_up = model.probability_up(features[t], earlier.state) > 0.5
        hits += int(predicted_up == (change > 0))
        total += 1
    return {"holdout_accuracy": round(hits / total, 4), "holdout_rows": total} if total else {}


def state_for_decision(
    *,
    strategy: Strategy,
    market: str,
    model: LearnedModel,
    series: CandleSeries,
    period: datetime,
    now: datetime | None = None,
) -> Any:
    """The state to decide with at ``period``: the stored one, refitted first when due."""
    loaded = latest_state(strategy=strategy, market=market, model=model)
    if loaded is not None and not is_due(
        loaded, model=model, period=period, timeframe=strategy.timeframe
    ):
        return loaded.state
    try:
        row = model_retrain(strategy=strategy, market=market, model=model, series=series, now=now)
    except NotEnoughCandles:
        if loaded is None:
            raise
        return loaded.state
    return model.load_state(row.fitted)


def retrain_if_due(
    *, strategy: Strategy, market: str, model: LearnedModel, now: datetime | None = None
) -> ModelState | None:
    """Scheduled refit of one market from freshly synced candles; None when not due."""
    now = now or timezone.now()
    period = last_closed(now, strategy.timeframe)
    loaded = latest_state(strategy=strategy, market=market, model=model)
    if not is_due(loaded, model=model, period=period, timeframe=strategy.timeframe):
        return None
    count = model.history
    candles_sync(
        exchange_id=strategy.exchange_id,
        market=market,
        timeframe=strategy.timeframe,
        start=period - (count - 1) * step(strategy.timeframe),
        end=period,
    )
    series = candle_series(
        exchange_id=strategy.exchange_id,
        market=market,
        timeframe=strategy.timeframe,
        until=period,
        count=count,
    )
    return model_retrain(strategy=strategy, market=market, model=model, series=series, now=now)
