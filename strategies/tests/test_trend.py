from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from strategies.engine import NotEnoughHistory, decide_latest
from strategies.library.trend import TrendFollowing
from strategies.tests.factories import NO_RISK, series_from_closes
from strategies.tests.markets import downtrend, flat, uptrend


def test_it_buys_a_clear_uptrend() -> None:
    decision = decide_latest(TrendFollowing(NO_RISK), series_from_closes(uptrend()))
    assert decision.action == "target"  # the overlay holds a buy as an exposure target
    assert decision.fraction == Decimal("1.0000")
    assert decision.confidence > Decimal("0.5")


def test_it_sells_a_clear_downtrend() -> None:
    decision = decide_latest(
        TrendFollowing({**NO_RISK, "sell_fraction": 0.5}), series_from_closes(downtrend())
    )
    assert decision.action == "sell"
    assert decision.fraction == Decimal("0.5000")


def test_it_holds_in_a_flat_market() -> None:
    decision = decide_latest(TrendFollowing(NO_RISK), series_from_closes(flat()))
    assert (decision.action, decision.fraction, decision.confidence) == ("hold", 0, 0)


def test_the_volatility_filter_keeps_it_out_of_a_turbulent_uptrend() -> None:
    turbulent = series_from_closes(uptrend(wiggle=0.03))
    assert (
        decide_latest(TrendFollowing({**NO_RISK, "max_volatility": 0.2}), turbulent).action
        == "target"
    )
    assert (
        decide_latest(TrendFollowing({**NO_RISK, "max_volatility": 0.02}), turbulent).action
        == "hold"
    )


def test_the_volatility_filter_never_blocks_an_exit() -> None:
    turbulent = series_from_closes(downtrend(wiggle=0.03))
    assert (
        decide_latest(TrendFollowing({**NO_RISK, "max_volatility": 0.0001}), turbulent).action
        == "sell"
    )


def test_it_holds_until_the_slow_average_has_its_window() -> None:
    model = TrendFollowing({**NO_RISK, "fast": 5, "slow": 30})
    rows = model.features(series_from_closes(uptrend(40)))
    assert model.decide(rows[28]).action == "hold"
    assert model.decide(rows[39]).action == "buy"


def test_a_decision_needs_the_lookback_in_history() -> None:
    with pytest.raises(NotEnoughHistory, match="needs 50 candles"):
        decide_latest(TrendFollowing(NO_RISK), series_from_closes(uptrend(49)))


def test_the_features_are_the_two_averages_and_the_volatility() -> None:
    model = TrendFollowing({**NO_RISK, "fast": 2, "slow": 3, "vol_window": 2})
    row = model.features(series_from_closes([100.0, 110.0, 121.0, 133.1]))[-1]
    assert row[0] == pytest.approx((121.0 + 133.1) / 2)
    assert row[1] == pytest.approx((110.0 + 121.0 + 133.1) / 3)
    assert row[2] == pytest.approx(0.0, abs=1e-12)  # constant 10 % steps: no variation
    assert not np.isnan(row).any()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fast": 60, "slow": 50}, "fast must be shorter than slow"),
        ({"fast": 2.5}, "whole number"),
        ({"band": -1}, "between"),
        ({"speed": 3}, "unknown parameter"),
        ({"fast": True}, "must be a number"),
    ],
)
def test_bad_parameters_are_refused(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrendFollowing(params)
