from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from strategies.engine import decide_latest
from strategies.library.ml import FEATURES, DirectionClassifier
from strategies.tests.factories import NO_RISK, series_from_closes
from strategies.tests.markets import coin_flips, downtrend, uptrend

# The trend gate off: these tests are about what the classifier learns.
SMALL = {**NO_RISK, "train_window": 100, "min_train": 50, "trend_slow": 0}


def fitted_decision(model: DirectionClassifier, closes: list[float]):
    series = series_from_closes(closes)
    fit = model.fit(model.features(series), series.close, len(series) - 1)
    assert fit is not None
    return decide_latest(model, series, fit.state), fit


def test_after_learning_an_uptrend_it_buys() -> None:
    decision, _ = fitted_decision(DirectionClassifier(SMALL), uptrend(200))
    assert decision.action == "target" and decision.fraction > 0
    assert decision.confidence > Decimal("0.9")


def test_after_learning_a_downtrend_it_sells() -> None:
    decision, _ = fitted_decision(DirectionClassifier(SMALL), downtrend(200))
    assert decision.action == "sell"


def test_on_coin_flips_it_mostly_holds() -> None:
    model = DirectionClassifier({**NO_RISK, "trend_slow": 0})
    series = series_from_closes(coin_flips(1200))
    features = model.features(series)
    fit = model.fit(features, series.close, len(series) - 1)
    assert fit is not None
    decisions = [model.decide(features[t], fit.state).action for t in range(1100, 1200)]
    assert decisions[-1] == "hold"
    assert decisions.count("hold") > 60


def test_it_learns_a_pattern_that_is_there() -> None:
    # Every move reverses the one before: the last return tells the next direction.
    closes = [100 * (1.01 if i % 2 else 1.0) for i in range(300)]
    _, fit = fitted_decision(DirectionClassifier(SMALL), closes)
    assert fit.metrics["in_sample_accuracy"] == 1.0


def test_without_a_fitted_state_it_holds() -> None:
    series = series_from_closes(uptrend(80))
    assert (
        decide_latest(DirectionClassifier({**NO_RISK, "trend_slow": 0}), series, None).action
        == "hold"
    )


def test_too_few_usable_candles_fit_nothing() -> None:
    model = DirectionClassifier(SMALL)
    series = series_from_closes(uptrend(90))  # 49 warm-up candles leave 40 rows
    assert model.fit(model.features(series), series.close, len(series) - 1) is None


def test_training_reads_only_what_was_known_at_the_fit() -> None:
    model = DirectionClassifier(SMALL)
    closes = coin_flips(300, seed=4)
    series = series_from_closes(closes)
    changed = series_from_closes(closes[:200] + list(reversed(closes[200:])))
    a = model.fit(model.features(series), series.close, 199)
    b = model.fit(model.features(changed), changed.close, 199)
    assert a is not None and b is not None
    assert a.last == 198 and a.end == 199  # the last row is labelled by candle 199
    assert np.array_equal(a.state.coef, b.state.coef)
    assert a.state.intercept == b.state.intercept


def test_the_fitted_state_round_trips_through_json() -> None:
    model = DirectionClassifier(SMALL)
    _, fit = fitted_decision(model, coin_flips(300, seed=2))
    stored = json.loads(json.dumps(model.dump_state(fit.state)))
    loaded = model.load_state(stored)
    row = np.linspace(-0.5, 0.5, len(FEATURES))
    assert loaded.probability_up(row) == fit.state.probability_up(row)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s.update(format=2),
        lambda s: s.update(features=["r1"]),
        lambda s: s.update(coef=s["coef"][:-1]),
        lambda s: s.update(coef=[*s["coef"][:-1], "1"]),
        lambda s: s.update(scale=[0.0] * len(FEATURES)),
        lambda s: s.update(intercept=float("nan")),
        lambda s: s.update(mean=None),
    ],
)
def test_a_stored_state_that_does_not_fit_the_model_is_refused(tamper) -> None:
    model = DirectionClassifier(SMALL)
    _, fit = fitted_decision(model, coin_flips(300, seed=2))
    stored = model.dump_state(fit.state)
    tamper(stored)
    with pytest.raises(ValueError, match="fitted state"):
        model.load_state(stored)


def test_a_stored_state_is_plain_numbers_not_a_pickle() -> None:
    model = DirectionClassifier(SMALL)
    _, fit = fitted_decision(model, coin_flips(300, seed=2))
    text = json.dumps(model.dump_state(fit.state))
    assert json.loads(text)["features"] == list(FEATURES)


def test_min_train_cannot_exceed_the_window() -> None:
    with pytest.raises(ValueError, match="min_train"):
        DirectionClassifier({**NO_RISK, "train_window": 100, "min_train": 200})


@pytest.mark.parametrize("c", [0.01, 0.1, 1.0, 1000.0])
def test_the_fit_reaches_scikit_learns_optimum_for_the_same_objective(c: float) -> None:
    from sklearn.linear_model import LogisticRegression

    from strategies.library.ml import logistic_fit

    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 9))
    y = (0.4 * x[:, 0] - 0.2 * x[:, 3] + rng.normal(size=600) > 0).astype(int)
    reference = LogisticRegression(C=c, tol=1e-12, max_iter=10_000).fit(x, y)
    coef, intercept = logistic_fit(x, y, c=c)
    assert np.allclose(coef, reference.coef_[0], atol=1e-6)
    assert abs(intercept - reference.intercept_[0]) < 1e-6


def test_the_fit_stays_finite_on_perfectly_separable_rows() -> None:
    from strategies.library.ml import logistic_fit

    x = np.array([[-2.0], [-1.0], [1.0], [2.0]] * 25)
    y = (x[:, 0] > 0).astype(int)
    coef, intercept = logistic_fit(x, y, c=1000.0)
    assert np.isfinite(coef).all() and np.isfinite(intercept) and coef[0] > 1
