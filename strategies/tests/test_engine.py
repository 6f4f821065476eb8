"""No look-ahead: what a strategy decides at t never depends on candles after t."""

from __future__ import annotations

import random
from decimal import Decimal
from itertools import pairwise

import numpy as np
import pytest

from strategies.backtest import Costs, run_backtest
from strategies.engine import decide_latest, replay
from strategies.library import build_model
from strategies.library.base import HOLD, TARGET, Decision
from strategies.series import CandleSeries
from strategies.synthetic import synthetic_rows
from strategies.tests.factories import SHORT_RISK, series_from_closes
from strategies.tests.markets import uptrend

KINDS = {
    "trend_following": {**SHORT_RISK},
    # Dips below a rising average are rare on this market: no re-entry band.
    "mean_reversion": {**SHORT_RISK, "risk_band": 0.0},
    "ml_direction": {
        "train_window": 150,
        "min_train": 80,
        "retrain_every": 25,
        "trend_slow": 0,
        **SHORT_RISK,
    },
}
CUT = 300


def history() -> list:
    return synthetic_rows(candles=420, seed=11)


def with_future_shuffled(rows: list) -> list:
    """Candles after CUT shuffled (prices only: times stay in order)."""
    future = [row[1:] for row in rows[CUT + 1 :]]
    random.Random(5).shuffle(future)
    return rows[: CUT + 1] + [(rows[CUT + 1 + i][0], *values) for i, values in enumerate(future)]


def with_future_crashed(rows: list) -> list:
    return rows[: CUT + 1] + [(row[0], *(v / 10 for v in row[1:])) for row in rows[CUT + 1 :]]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alter", [with_future_shuffled, with_future_crashed])
def test_changing_the_future_does_not_change_any_decision_up_to_now(kind: str, alter) -> None:
    model = build_model(kind, KINDS[kind])
    rows = history()
    original = replay(model, CandleSeries.from_rows("4h", rows), start=60)
    altered = replay(model, CandleSeries.from_rows("4h", alter(rows)), start=60)
    upto = CUT - 60 + 1
    assert original.decisions[:upto] == altered.decisions[:upto]
    # The test would be empty if the future did not matter at all.
    assert original.decisions[upto:] != altered.decisions[upto:]


@pytest.mark.parametrize("kind", KINDS)
def test_feature_rows_up_to_now_ignore_the_future(kind: str) -> None:
    model = build_model(kind, KINDS[kind])
    rows = history()
    full = model.features(CandleSeries.from_rows("4h", rows))
    altered = model.features(CandleSeries.from_rows("4h", with_future_crashed(rows)))
    assert np.array_equal(full[: CUT + 1], altered[: CUT + 1], equal_nan=True)


@pytest.mark.parametrize("kind", KINDS)
def test_the_backtest_decides_exactly_as_a_live_run_would_have(kind: str) -> None:
    """Replay over all history vs. a live decision made on only the candles known then."""
    model = build_model(kind, KINDS[kind])
    series = CandleSeries.from_rows("4h", history())
    replayed = replay(model, series, start=60)
    fitted_at = sorted(replayed.fits)
    for t in range(200, 420, 7):
        state = None
        if model.learned:
            last_fit = max(i for i in fitted_at if i <= t)
            known = series.head(t + 1)
            state = model.fit(model.features(known), known.close, last_fit).state
        live = decide_latest(model, series.head(t + 1), state)
        assert live == replayed.decisions[t - 60], t


def test_a_learned_model_is_refitted_every_retrain_every_candles_once_it_can_be() -> None:
    model = build_model("ml_direction", KINDS["ml_direction"])
    replayed = replay(model, CandleSeries.from_rows("4h", history()), start=60)
    points = sorted(replayed.fits)
    assert points[0] > 60  # first it waits for min_train usable candles
    assert all(b - a == 25 for a, b in pairwise(points))
    for t in points:
        assert replayed.fits[t].end == t and replayed.fits[t].last == t - 1


def test_progress_is_reported_while_replaying() -> None:
    seen: list[tuple[int, int]] = []
    replay(
        build_model("trend_following"),
        series_from_closes(uptrend(200)),
        start=49,
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[0] == (0, 151) and seen[-1][0] < 151 and len(seen) > 10


# Issue 11, item 2: one clock for refits.
OFFSETS = (0, 1, 3, 6, 7, 11, 13, 17, 19, 24)


@pytest.mark.parametrize("kind", KINDS)
def test_backtests_started_at_ten_offsets_decide_identically_wherever_they_overlap(
    kind: str,
) -> None:
    """Test fails on main before this change: refits were counted from each start."""
    model = build_model(kind, KINDS[kind])
    series = CandleSeries.from_rows("4h", synthetic_rows(candles=700, seed=3))
    by_time: dict[int, Decision] = {}
    compared = 0
    for offset in OFFSETS:
        window = series.window(offset, len(series))
        # Each backtest decides from its first candle with a full history behind it.
        result = run_backtest(model, window, capital=Decimal(10000), costs=Costs(), start=None)
        first = len(window) - len(result.decisions)
        for i, decision in enumerate(result.decisions):
            when = int(window.open_ms[first + i])
            if i >= model.history and when in by_time:
                assert by_time[when] == decision, (offset, when)
                compared += 1
            by_time.setdefault(when, decision)
    assert compared > 3000
    assert {decision.action for decision in by_time.values()} >= {TARGET, HOLD}


def test_a_learned_model_refits_on_open_times_that_are_multiples_of_its_period() -> None:
    model = build_model("ml_direction", KINDS["ml_direction"])
    series = CandleSeries.from_rows("4h", synthetic_rows(candles=700, seed=3))
    period_ms = 25 * 4 * 3_600_000
    for offset in (0, 5, 13):
        replayed = replay(model, series.window(offset, len(series)), start=0)
        assert replayed.fits
        for end, fitted in replayed.fits.items():
            assert int(series.open_ms[offset + end]) % period_ms == 0
            assert fitted.end == end and fitted.last == end - 1


def test_a_refit_time_whose_candle_is_missing_fits_on_the_candle_before_it() -> None:
    model = build_model("ml_direction", KINDS["ml_direction"])
    rows = synthetic_rows(candles=700, seed=3)
    series = CandleSeries.from_rows("4h", rows)
    period_ms = 25 * 4 * 3_600_000
    anchor = next(
        i for i in range(400, 700) if int(series.open_ms[i]) % period_ms == 0
    )  # a refit time
    holed = CandleSeries.from_rows("4h", rows[:anchor] + rows[anchor + 1 :])
    replayed = replay(model, holed, start=300)
    assert anchor - 1 in replayed.fits  # the fit for that refit time: on what was known
    assert anchor not in replayed.fits
