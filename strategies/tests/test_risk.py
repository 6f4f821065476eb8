"""The risk overlay: one decision function for live runs and backtests, limiting every model."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any, ClassVar

import numpy as np
import pytest

from strategies.backtest import Costs, run_backtest
from strategies.engine import decide_latest, replay
from strategies.library import build_model
from strategies.library.base import (
    BUY,
    HOLD,
    RISK_PARAMS,
    SELL,
    STAY,
    TARGET,
    Decision,
    StrategyModel,
)
from strategies.performance import beats_buy_and_hold, buy_and_hold, summary_of
from strategies.series import CandleSeries
from strategies.tests.factories import NO_RISK, SHORT_RISK, series_from_closes
from strategies.tests.markets import uptrend

ALWAYS_IN = Decision(BUY, D(1), D(1))


class AlwaysBuys(StrategyModel):
    """A model that wants to be all in at every candle: whatever it does not do, the
    overlay stopped."""

    key = "always_buys"
    title = summary = rule = "test"
    PARAMS: ClassVar = {**RISK_PARAMS}

    @property
    def signal_lookback(self) -> int:
        return 1

    def features(self, series: CandleSeries) -> np.ndarray:
        return np.zeros((len(series), 1))

    def decide(self, row: np.ndarray, state: Any = None) -> Decision:
        return ALWAYS_IN


def rise_then_fall(fall: float, *, rise: int = 120, after: int = 10) -> list[float]:
    """A steady climb, then one drop of ``fall`` spread over ``after`` candles."""
    closes = uptrend(rise, step=0.005, wiggle=0.0)
    top = closes[-1]
    return closes + [top * (1 - fall * (i + 1) / after) for i in range(after)]


def test_the_drawdown_brake_sells_everything_once_the_market_falls_past_it() -> None:
    model = AlwaysBuys({**SHORT_RISK, "risk_brake": 0.1})
    before = decide_latest(model, series_from_closes(rise_then_fall(0.05)))
    assert before.action == TARGET and before.fraction == D(1)
    braked = decide_latest(model, series_from_closes(rise_then_fall(0.15)))
    assert (braked.action, braked.fraction) == (TARGET, D(0))


def test_between_half_the_brake_and_the_brake_the_target_shrinks_with_the_fall() -> None:
    model = AlwaysBuys({**SHORT_RISK, "risk_brake": 0.2, "risk_regime_window": 0})
    targets = [
        decide_latest(model, series_from_closes(rise_then_fall(fall))).fraction
        for fall in (0.05, 0.12, 0.15, 0.18)
    ]
    assert targets[0] == D(1) and targets == sorted(targets, reverse=True)
    assert D(0) < targets[-1] < D("0.3")


def test_the_drawdown_brake_cuts_a_backtests_exposure_to_nothing() -> None:
    series = series_from_closes(rise_then_fall(0.3, after=30))
    costs = Costs(D(0), D(0))
    # The regime filter off, so only the brake can act.
    brake_only = {**SHORT_RISK, "risk_regime_window": 0, "risk_band": 0.0}
    braked = run_backtest(
        AlwaysBuys({**brake_only, "risk_brake": 0.1}), series, capital=D(1000), costs=costs
    )
    unbraked = run_backtest(
        AlwaysBuys({**brake_only, "risk_brake": 1.0}), series, capital=D(1000), costs=costs
    )
    # Fully invested before the fall; nothing held by its end.
    assert braked.ledger.invested[-31] > D(990)
    assert braked.ledger.invested[-1] == 0 and unbraked.ledger.invested[-1] > 0
    assert braked.stats.max_drawdown < D("0.15") < unbraked.stats.max_drawdown


def test_below_the_long_average_a_buy_becomes_a_hold_and_a_sell_passes() -> None:
    closes = uptrend(80, step=0.005, wiggle=0.0)[::-1]  # a steady fall
    model = AlwaysBuys({**SHORT_RISK, "risk_brake": 1.0})
    series = series_from_closes(closes)
    assert model.overlay.state(model.overlay.features(series)[-1]) == "below"
    # The model's buy becomes a hold: what is held stays, nothing is added.
    assert decide_latest(model, series) == STAY
    # Its sell passes: the model's own exit (or the brake) is what sells.
    sell = Decision(SELL, D(1), D("0.6"))
    assert model.overlay.apply(sell, model.overlay.features(series)[-1]) == sell


def test_below_the_long_average_past_the_brake_everything_is_sold() -> None:
    closes = uptrend(80, step=0.005, wiggle=0.0)[::-1]  # a steady fall
    decision = decide_latest(
        AlwaysBuys({**SHORT_RISK, "risk_brake": 0.1}), series_from_closes(closes)
    )
    assert (decision.action, decision.fraction) == (TARGET, D(0))


def test_between_the_exit_and_reentry_lines_a_buy_targets_a_share_of_the_full_exposure() -> None:
    # Just above the long average, a sixth of the band above it: a sixth of full exposure.
    closes = [100.0] * 70 + [100.5]
    params = {**SHORT_RISK, "risk_band": 0.03, "risk_target_vol": 10.0}
    decision = decide_latest(AlwaysBuys(params), series_from_closes(closes))
    assert decision.action == TARGET and D("0.15") < decision.fraction < D("0.18")
    sell = Decision(SELL, D("0.5"), D("0.7"))
    risk_row = AlwaysBuys(params).overlay.features(series_from_closes(closes))[-1]
    assert AlwaysBuys(params).overlay.apply(sell, risk_row) == sell  # sells always pass


def test_a_buy_is_scaled_down_to_the_volatility_target_in_a_turbulent_market() -> None:
    calm = uptrend(120, step=0.004, wiggle=0.001)
    turbulent = uptrend(120, step=0.004, wiggle=0.03)
    params = {**SHORT_RISK, "risk_brake": 1.0, "risk_band": 0.0, "risk_target_vol": 0.5}
    assert decide_latest(AlwaysBuys(params), series_from_closes(calm)).fraction == D(1)
    scaled = decide_latest(AlwaysBuys(params), series_from_closes(turbulent))
    assert scaled.action == TARGET and D("0.05") < scaled.fraction < D("0.5")


def test_a_model_that_keeps_saying_buy_holds_its_target_instead_of_ending_fully_invested() -> None:
    turbulent = series_from_closes(uptrend(300, step=0.004, wiggle=0.03))
    params = {**SHORT_RISK, "risk_brake": 1.0, "risk_band": 0.0, "risk_target_vol": 0.5}
    result = run_backtest(AlwaysBuys(params), turbulent, capital=D(1000), costs=Costs())
    targets = [d.fraction for d in result.decisions[-50:]]
    exposure = result.ledger.invested[-1] / result.ledger.equity[-1]
    # Held near the volatility target (within the rebalance band and a candle's move),
    # where "buy" at every candle used to end with everything in.
    assert max(targets) < D("0.5")
    assert abs(exposure - targets[-2]) < D("0.1")


def test_the_backtest_and_a_live_run_make_the_same_overlaid_decisions() -> None:
    closes = rise_then_fall(0.3, after=30) + uptrend(40, step=0.01, wiggle=0.004)
    series = series_from_closes(closes)
    model = AlwaysBuys({**SHORT_RISK, "risk_brake": 0.1})
    replayed = replay(model, series, start=model.lookback - 1)
    live = [
        decide_latest(model, series.head(t + 1)) for t in range(model.lookback - 1, len(series))
    ]
    assert live == replayed.decisions
    # The overlay did act: full exposure in the climb, none after the fall, no buying
    # while the recovery is still below the long average.
    assert {d.action for d in live} == {TARGET, HOLD}
    assert {D(0), D(1)} <= {d.fraction for d in live}


def test_without_enough_history_for_the_overlay_it_does_nothing() -> None:
    model = AlwaysBuys(SHORT_RISK)
    assert model.lookback == 60
    replayed = replay(model, series_from_closes(uptrend(80)), start=0)
    assert set(replayed.decisions[:59]) == {STAY}


@pytest.mark.parametrize(
    "name", ["risk_brake", "risk_band", "risk_target_vol", "risk_regime_window"]
)
def test_an_overlay_setting_out_of_range_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        build_model("trend_following", {name: -1})


def test_every_model_carries_the_same_overlay_settings() -> None:
    from strategies.library import REGISTRY

    for model_class in REGISTRY.values():
        assert set(RISK_PARAMS) <= set(model_class.PARAMS)
    assert build_model("trend_following").overlay == build_model("ml_direction").overlay


def test_switched_off_it_holds_the_models_buy_as_a_full_target() -> None:
    series = series_from_closes(rise_then_fall(0.4, after=30))
    assert decide_latest(AlwaysBuys(NO_RISK), series) == Decision(TARGET, D(1), D(1))


# Issue 11 item 4: the shipped strategies on synthetic regimes (benchmarks/README.md
# reports them with the real series). The same parameters as shipped.
def shipped() -> list[tuple[str, str, dict]]:
    from strategies.seed import DEFAULT_STRATEGIES

    return [(d["slug"], d["kind"], d.get("params", {})) for d in DEFAULT_STRATEGIES]


def against_holding(kind: str, params: dict, series: CandleSeries):
    costs = Costs(fee_rate=D("0.001"), slippage_rate=D("0.0005"))
    result = run_backtest(build_model(kind, params), series, capital=D(10000), costs=costs)
    held = buy_and_hold(series, start=result.ledger.start, capital=D(10000), costs=costs)
    return summary_of(result, series.timeframe), summary_of(held, series.timeframe)


@pytest.mark.parametrize("regime", ["bear", "crash"])
@pytest.mark.parametrize("strategy", shipped(), ids=lambda s: s[0])
def test_in_a_bear_market_and_a_crash_every_shipped_strategy_meets_the_risk_target(
    strategy: tuple, regime: str
) -> None:
    from strategies.synthetic import regime_series

    _slug, kind, params = strategy
    mine, held = against_holding(kind, params, regime_series(regime))
    assert held.max_drawdown > D("0.6")  # the market did fall hard
    assert mine.max_drawdown <= held.max_drawdown / 2
    assert beats_buy_and_hold(mine, held)


@pytest.mark.parametrize("strategy", shipped(), ids=lambda s: s[0])
def test_in_a_bull_market_every_shipped_strategy_still_gains_with_a_smaller_drawdown(
    strategy: tuple,
) -> None:
    from strategies.synthetic import regime_series

    _slug, kind, params = strategy
    mine, held = against_holding(kind, params, regime_series("bull"))
    assert mine.total_return > 0 and mine.max_drawdown < held.max_drawdown


@pytest.mark.django_db
def test_a_live_run_signs_the_overlays_decision_not_the_models(paper, monkeypatch) -> None:
    """The scheduled run decides through the same overlay as the backtest."""
    from strategies.library.risk import RiskOverlay
    from strategies.models import Signal
    from strategies.runs import strategy_run
    from strategies.tests.conftest import NOW
    from strategies.tests.factories import StrategyFactory

    seen: list[tuple[Decision, int]] = []

    def overlay_says_sell(self, decision: Decision, row: np.ndarray) -> Decision:
        seen.append((decision, len(row)))
        return Decision(SELL, D("0.25"), D("0.5"))

    monkeypatch.setattr(RiskOverlay, "apply", overlay_says_sell)
    strategy = StrategyFactory(markets=["BTC/USDT"], params={"fast": 5, "slow": 12, **SHORT_RISK})
    strategy_run(strategy=strategy, now=NOW, client=paper)
    signal = Signal.objects.get(strategy=strategy)
    assert (signal.action, signal.fraction, signal.confidence) == (SELL, D("0.25"), D("0.5"))
    assert len(seen) == 1 and seen[0][1] == 4  # the model's decision, the overlay's row
