from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from strategies.learning import (
    NotEnoughCandles,
    is_due,
    latest_state,
    model_retrain,
    retrain_if_due,
    state_for_period,
)
from strategies.library.ml import DirectionClassifier
from strategies.models import ModelState
from strategies.tests.factories import StrategyFactory, series_from_closes
from strategies.tests.markets import coin_flips
from strategies.timeframes import last_closed, refit_anchor, step

pytestmark = pytest.mark.django_db
PARAMS = {"train_window": 100, "min_train": 50, "retrain_every": 3, "trend_slow": 0}
H4 = step("4h")


@pytest.fixture
def strategy():
    return StrategyFactory(kind="ml_direction", params=PARAMS)


@pytest.fixture
def model() -> DirectionClassifier:
    return DirectionClassifier(PARAMS)


def test_each_refit_is_stored_as_a_new_version_with_its_data_range(strategy, model) -> None:
    series = series_from_closes(coin_flips(200, seed=1))
    first = model_retrain(strategy=strategy, market="BTC/USDT", model=model, series=series)
    second = model_retrain(
        strategy=strategy, market="BTC/USDT", model=model, series=series.head(180)
    )
    assert (first.version, second.version) == (1, 2)
    # Refit times are every 3 candles (12 h) from the epoch: candles 198 and 177 here.
    # Rows 98..197 learn from the closes up to candle 198; 199 is not read.
    assert first.fitted_for == first.data_end == series.open_time(198)
    assert first.data_start == series.open_time(98)
    assert first.rows == 100 and second.data_end == series.open_time(177)
    assert model.load_state(first.fitted) is not None
    assert 0 <= first.metrics["holdout_accuracy"] <= 1 and first.metrics["holdout_rows"] == 20


def test_versions_count_per_market(strategy, model) -> None:
    series = series_from_closes(coin_flips(200, seed=1))
    model_retrain(strategy=strategy, market="BTC/USDT", model=model, series=series)
    other = model_retrain(strategy=strategy, market="ETH/USDT", model=model, series=series)
    assert other.version == 1


def test_too_few_candles_fit_no_model(strategy, model) -> None:
    with pytest.raises(NotEnoughCandles, match="too few usable candles"):
        model_retrain(
            strategy=strategy,
            market="BTC/USDT",
            model=model,
            series=series_from_closes(coin_flips(80)),
        )
    assert not ModelState.objects.exists()


def test_a_stored_state_that_does_not_load_is_passed_over_for_the_previous(strategy, model) -> None:
    series = series_from_closes(coin_flips(200, seed=1))
    good = model_retrain(strategy=strategy, market="BTC/USDT", model=model, series=series)
    ModelState.objects.create(
        strategy=strategy, market="BTC/USDT", version=2, trained_at=timezone.now(),
        data_start=good.data_start, data_end=good.data_end, rows=1, fitted={"format": 99},
    )  # fmt: skip
    loaded = latest_state(strategy=strategy, market="BTC/USDT", model=model)
    assert loaded is not None and loaded.row.pk == good.pk


def test_a_model_is_due_at_the_next_refit_time_on_the_fixed_clock(strategy, model) -> None:
    series = series_from_closes(coin_flips(200, seed=1))
    model_retrain(strategy=strategy, market="BTC/USDT", model=model, series=series)
    loaded = latest_state(strategy=strategy, market="BTC/USDT", model=model)
    assert loaded is not None
    end = loaded.row.data_end
    assert not is_due(loaded, model=model, period=end + 2 * H4, timeframe="4h")
    assert is_due(loaded, model=model, period=end + 3 * H4, timeframe="4h")
    assert is_due(None, model=model, period=end, timeframe="4h")


def test_a_decision_uses_the_stored_state_until_a_refit_is_due(strategy, model) -> None:
    series = series_from_closes(coin_flips(220, seed=1))
    head = series.head(200)
    state_for_period(
        strategy=strategy, market="BTC/USDT", model=model, series=head, period=head.open_time(-1)
    )
    state_for_period(
        strategy=strategy,
        market="BTC/USDT",
        model=model,
        series=series.head(201),
        period=series.open_time(200),
    )
    assert ModelState.objects.count() == 1  # candles 199 and 200 use the fit of 198
    state_for_period(
        strategy=strategy,
        market="BTC/USDT",
        model=model,
        series=series.head(202),
        period=series.open_time(201),
    )
    assert ModelState.objects.count() == 2
    assert ModelState.objects.latest("version").fitted_for == series.open_time(201)


def test_when_a_refit_lacks_data_the_last_state_still_decides(strategy, model) -> None:
    series = series_from_closes(coin_flips(200, seed=1))
    model_retrain(strategy=strategy, market="BTC/USDT", model=model, series=series)
    short = series.window(150, 200)
    state = state_for_period(
        strategy=strategy,
        market="BTC/USDT",
        model=model,
        series=short,
        period=series.open_time(199) + 5 * H4,
    )
    assert state is not None and ModelState.objects.count() == 1


def test_without_any_state_and_too_little_data_the_market_fails(strategy, model) -> None:
    short = series_from_closes(coin_flips(60))
    with pytest.raises(NotEnoughCandles):
        state_for_period(
            strategy=strategy,
            market="BTC/USDT",
            model=model,
            series=short,
            period=short.open_time(-1),
        )


def test_the_scheduled_refit_syncs_candles_then_fits_only_when_due(strategy, model) -> None:
    now = timezone.now() - timedelta(days=1)
    state = retrain_if_due(strategy=strategy, market="BTC/USDT", model=model, now=now)
    anchor = refit_anchor(last_closed(now, "4h"), "4h", 3)
    assert state is not None
    assert state.version == 1 and state.data_end == state.fitted_for == anchor
    assert retrain_if_due(strategy=strategy, market="BTC/USDT", model=model, now=now) is None
    later = retrain_if_due(
        strategy=strategy, market="BTC/USDT", model=model, now=now + timedelta(hours=12)
    )
    assert later is not None and later.version == 2
