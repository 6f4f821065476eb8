"""Fitting learned models on stored candles, versioned, and loading their state.

One clock for refits: a model is refitted at open times that are multiples of
``retrain_every`` candles since the Unix epoch (``timeframes.refit_anchor``),
on the candles known at that candle's close. A (strategy, market) is due when
the newest refit time has passed since the one its state was fitted for. The
backtest (``engine.replay``) refits on the same clock, so a decision at a time
is the same whatever day the server or the backtest started.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from strategies.engine import fit_end
from strategies.library.base import LearnedModel
from strategies.market_data import recent_series
from strategies.models import ModelState, Strategy
from strategies.series import CandleSeries
from strategies.timeframes import last_closed, refit_anchor, to_ms

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


def refit_time(*, model: LearnedModel, period: datetime, timeframe: str) -> datetime:
    """The refit time whose fit decides at ``period``."""
    return refit_anchor(period, timeframe, model.retrain_every)


def is_due(
    loaded: LoadedState | None, *, model: LearnedModel, period: datetime, timeframe: str
) -> bool:
    if loaded is None or loaded.row.fitted_for is None:
        return True
    return refit_time(model=model, period=period, timeframe=timeframe) > loaded.row.fitted_for


def model_retrain(
    *,
    strategy: Strategy,
    market: str,
    model: LearnedModel,
    series: CandleSeries,
    fitted_for: datetime | None = None,
    now: datetime | None = None,
) -> ModelState:
    """Fit on ``series`` (stored candles up to the refit time) and store version n+1.

    ``fitted_for`` is the refit time the fit serves (default: the refit time
    of the series' newest candle); candles after it are not read, so the fit
    is the one a backtest makes at that time. Side effect: a ModelState row
    with the fitted numbers, the data range seen and hold-out metrics. Raises
    NotEnoughCandles when the fit has too few usable candles. Two processes
    fitting at once: the later one keeps the earlier's row.
    """
    if len(series) == 0:
        raise NotEnoughCandles(f"{strategy.slug} {market}: no candles to fit on")
    if fitted_for is None:
        fitted_for = refit_time(
            model=model, period=series.open_time(-1), timeframe=series.timeframe
        )
    end = fit_end(series.open_ms, to_ms(fitted_for))
    features = model.features(series)
    fitted = model.fit(features, series.close, end) if end >= 0 else None
    if fitted is None:
        raise NotEnoughCandles(
            f"{strategy.slug} {market}: too few usable candles to fit ({end + 1} stored "
            f"up to {fitted_for:%Y-%m-%d %H:%M} UTC)"
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
                    fitted_for=fitted_for,
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


def _fit_at(
    *,
    strategy: Strategy,
    market: str,
    model: LearnedModel,
    fitted_for: datetime,
    series: CandleSeries | None = None,
    client: Any = None,
    now: datetime | None = None,
) -> ModelState:
    """Fit for the refit time ``fitted_for`` and store it (``model_retrain``), on ``series``
    or else on the candles that fit learns from (a full window), synced first."""
    if series is None:
        series = recent_series(
            exchange_id=strategy.exchange_id,
            market=market,
            timeframe=strategy.timeframe,
            until=fitted_for,
            count=model.training_window + model.lookback + 1,
            client=client,
        )
    return model_retrain(
        strategy=strategy,
        market=market,
        model=model,
        series=series,
        fitted_for=fitted_for,
        now=now,
    )


def state_for_period(
    *,
    strategy: Strategy,
    market: str,
    model: LearnedModel,
    period: datetime,
    series: CandleSeries | None = None,
    client: Any = None,
    now: datetime | None = None,
) -> Any:
    """The state a decision at ``period`` uses: the stored fit for its refit time,
    fitted by the first run or refit task to need it.

    The fit learns from ``series`` when given (it must end at ``period`` and hold
    ``model.history`` candles, so the fit at the refit time, up to
    ``retrain_every - 1`` candles back, sees a full training window, as the
    backtest's does); else from the stored candles, synced first. When only the
    refit lacks data, the previous state still decides (as the backtest keeps it);
    with no state at all, NotEnoughCandles is raised.
    """
    loaded = latest_state(strategy=strategy, market=market, model=model)
    if loaded is not None and not is_due(
        loaded, model=model, period=period, timeframe=strategy.timeframe
    ):
        return loaded.state
    try:
        row = _fit_at(
            strategy=strategy,
            market=market,
            model=model,
            fitted_for=refit_time(model=model, period=period, timeframe=strategy.timeframe),
            series=series,
            client=client,
            now=now,
        )
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
    return _fit_at(
        strategy=strategy,
        market=market,
        model=model,
        fitted_for=refit_time(model=model, period=period, timeframe=strategy.timeframe),
        now=now,
    )
