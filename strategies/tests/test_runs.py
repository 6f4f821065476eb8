from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.exchange import PaperExchange
from strategies import hooks, runs
from strategies.engine import replay
from strategies.library import build_model
from strategies.market_data import candle_series
from strategies.models import ModelState, Signal, StrategyRun
from strategies.runs import strategy_run
from strategies.signing import verify_signal
from strategies.tests.conftest import NOW
from strategies.tests.factories import StrategyFactory
from strategies.timeframes import last_closed, step
from testing.threads import run_in_threads

LAST = last_closed(NOW, "4h")
QUICK = {"fast": 3, "slow": 6, "vol_window": 5}


@pytest.fixture
def strategy(db):
    return StrategyFactory(markets=["BTC/USDT", "ETH/USDT"], params=QUICK)


@pytest.mark.django_db
def test_a_run_emits_one_signed_signal_per_market_for_the_last_closed_candle(
    strategy, paper
) -> None:
    run = strategy_run(strategy=strategy, now=NOW, client=paper)
    assert run.status == StrategyRun.Status.SUCCEEDED
    assert (run.markets_scanned, run.signals_emitted, run.errors) == (
        ["BTC/USDT", "ETH/USDT"],
        2,
        [],
    )
    assert run.finished_at is not None
    assert run.started_at == NOW and run.finished_at >= NOW
    signals = list(Signal.objects.select_related("strategy").order_by("market"))
    assert [s.market for s in signals] == ["BTC/USDT", "ETH/USDT"]
    for signal in signals:
        assert signal.period == LAST and signal.run_id == run.pk
        assert signal.action in {"buy", "sell", "target", "hold"}
        assert NOW <= signal.created_at <= run.finished_at
        assert verify_signal(signal, strategy.public_key)


@pytest.mark.django_db
def test_a_market_that_fails_is_recorded_and_the_others_still_emit(strategy, paper) -> None:
    strategy.markets = ["DOGE/USDT", "BTC/USDT"]
    run = strategy_run(strategy=strategy, now=NOW, client=paper)
    assert run.status == StrategyRun.Status.PARTIAL
    assert run.signals_emitted == 1
    assert run.errors == [
        {"market": "DOGE/USDT", "error": "BadSymbol: paper does not have market symbol DOGE/USDT"}
    ]
    assert list(Signal.objects.values_list("market", flat=True)) == ["BTC/USDT"]


@pytest.mark.django_db
def test_a_run_where_every_market_fails_has_failed(strategy, paper) -> None:
    strategy.markets = ["DOGE/USDT"]
    run = strategy_run(strategy=strategy, now=NOW, client=paper)
    assert run.status == StrategyRun.Status.FAILED and not Signal.objects.exists()


@pytest.mark.django_db
def test_a_second_run_for_the_same_period_emits_nothing(strategy, paper) -> None:
    strategy_run(strategy=strategy, now=NOW, client=paper)
    again = strategy_run(strategy=strategy, now=NOW + timedelta(minutes=90), client=paper)
    assert again.signals_emitted == 0
    assert again.already_emitted == ["BTC/USDT", "ETH/USDT"]
    assert again.status == StrategyRun.Status.SUCCEEDED
    assert Signal.objects.count() == 2


@pytest.mark.django_db
def test_the_next_period_gets_its_own_signals(strategy, paper, clock) -> None:
    strategy_run(strategy=strategy, now=NOW, client=paper)
    clock.advance(hours=4)
    strategy_run(strategy=strategy, now=NOW + timedelta(hours=4), client=paper)
    assert sorted(set(Signal.objects.values_list("period", flat=True))) == [LAST, LAST + step("4h")]


@pytest.mark.django_db
def test_receivers_hear_of_new_signals_only_after_commit(
    strategy, paper, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    heard: list[list[str]] = []
    monkeypatch.setattr(hooks, "SIGNAL_RECEIVERS", [heard.append])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        strategy_run(strategy=strategy, now=NOW, client=paper)
    assert heard == []
    for callback in callbacks:
        callback()
    # In the order of the strategy's markets: BTC/USDT, then ETH/USDT.
    assert heard == [
        [str(pk) for pk in Signal.objects.order_by("market").values_list("pk", flat=True)]
    ]


@pytest.mark.django_db
def test_a_second_run_for_the_same_period_tells_no_receiver(
    strategy, paper, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    strategy_run(strategy=strategy, now=NOW, client=paper)
    heard: list[list[str]] = []
    monkeypatch.setattr(hooks, "SIGNAL_RECEIVERS", [heard.append])
    with django_capture_on_commit_callbacks(execute=True):
        strategy_run(strategy=strategy, now=NOW, client=paper)
    assert heard == []


class Canned:
    def __init__(self, candles: list[list[Any]]) -> None:
        self.candles = candles

    def fetch_ohlcv(self, *args: Any, **kwargs: Any) -> list[list[Any]]:
        return self.candles


@pytest.mark.django_db
def test_a_market_whose_newest_candle_is_missing_is_not_signed_on_old_data(strategy) -> None:
    stale_ms = int((LAST - step("4h")).timestamp() * 1000)
    strategy.markets = ["BTC/USDT"]
    run = strategy_run(strategy=strategy, now=NOW, client=Canned([[stale_ms, 1, 2, 0.5, 1.5, 1]]))
    assert run.status == StrategyRun.Status.FAILED
    assert (
        "StaleMarketData: no closed 4h candle opening 2025-03-10 08:00 UTC yet"
        in run.errors[0]["error"]
    )
    assert not Signal.objects.exists()


@pytest.mark.django_db
def test_a_signing_key_that_does_not_open_fails_the_run_without_signals(strategy, paper) -> None:
    other = StrategyFactory()
    table = strategy._meta.db_table
    with connection.cursor() as cursor:
        # A ciphertext copied from another row: it is bound to that row's slug.
        cursor.execute(
            f"UPDATE {table} SET private_key = (SELECT private_key FROM {table} WHERE id = %s) WHERE id = %s",  # noqa: S608
            [other.pk, strategy.pk],
        )
    strategy.refresh_from_db()
    run = strategy_run(strategy=strategy, now=NOW, client=paper)
    assert run.status == StrategyRun.Status.FAILED
    assert run.errors[0]["market"] == "*" and "VaultDecryptionError" in run.errors[0]["error"]
    assert not Signal.objects.exists()


@pytest.mark.django_db
def test_a_strategy_whose_stored_parameters_are_wrong_fails_its_run(strategy, paper) -> None:
    strategy.params = {"fast": "quick"}
    run = strategy_run(strategy=strategy, now=NOW, client=paper)
    assert run.status == StrategyRun.Status.FAILED
    assert run.errors == [{"market": "*", "error": "ValueError: fast must be a number"}]


@pytest.mark.django_db
def test_a_learned_strategy_fits_its_model_on_first_run_and_refits_when_due(paper, clock) -> None:
    strategy = StrategyFactory(
        kind="ml_direction",
        params={"train_window": 100, "min_train": 50, "retrain_every": 2, "trend_slow": 0},
    )
    strategy_run(strategy=strategy, now=NOW, client=paper)
    state = ModelState.objects.get()
    assert (state.version, state.market, state.data_end) == (1, "BTC/USDT", LAST)
    assert state.data_start < state.data_end and state.rows >= 50
    assert set(state.metrics) >= {"in_sample_accuracy", "holdout_accuracy"}

    clock.advance(hours=4)
    strategy_run(strategy=strategy, now=NOW + timedelta(hours=4), client=paper)
    assert ModelState.objects.count() == 1  # one candle later: not due yet
    clock.advance(hours=4)
    strategy_run(strategy=strategy, now=NOW + timedelta(hours=8), client=paper)
    assert list(ModelState.objects.order_by("version").values_list("version", "data_end")) == [
        (1, LAST), (2, LAST + 2 * step("4h")),
    ]  # fmt: skip
    assert Signal.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_cannot_both_emit_for_a_period(monkeypatch) -> None:
    strategy = StrategyFactory(markets=["BTC/USDT", "ETH/USDT"], params=QUICK)
    both_decided = threading.Barrier(2, timeout=30)
    real_emit = runs._emit

    def emit_after_both_decided(**kwargs: Any):
        both_decided.wait()  # neither has stored anything yet: a true overlap
        return real_emit(**kwargs)

    monkeypatch.setattr(runs, "_emit", emit_after_both_decided)
    results: list[StrategyRun] = []

    def run_once(_: int) -> None:
        client = PaperExchange(config=PaperConfig(clock=ManualClock(NOW)))
        results.append(strategy_run(strategy=strategy, now=NOW, client=client))

    assert run_in_threads(run_once, 2) == []
    assert sorted(run.signals_emitted for run in results) == [0, 2]
    assert sorted(len(run.already_emitted) for run in results) == [0, 2]
    assert Signal.objects.count() == 2


ML_QUICK = {"train_window": 100, "min_train": 50, "retrain_every": 6, "trend_slow": 0}


@pytest.mark.django_db
@pytest.mark.parametrize("first_run", [0, 4])
def test_live_runs_replayed_over_a_period_give_the_backtests_decisions(
    paper, clock, first_run: int
) -> None:
    """Test fails on main before this change: live refits counted from the first run."""
    strategy = StrategyFactory(kind="ml_direction", params=ML_QUICK, markets=["BTC/USDT"])
    width = step("4h")
    periods = 40
    down = {17, 18, 19, 25}  # the server was down: no run, and the clock still decides
    for i in range(first_run, periods):
        if i in down:
            continue
        now = NOW + i * width
        clock.set(now)
        strategy_run(strategy=strategy, now=now, client=paper)
    signals = {s.period: s for s in Signal.objects.filter(strategy=strategy)}
    assert len(signals) == periods - first_run - len(down)
    model = build_model("ml_direction", ML_QUICK)
    series = candle_series(
        exchange_id=strategy.exchange_id,
        market="BTC/USDT",
        timeframe="4h",
        until=LAST + (periods - 1) * width,
    )
    start = next(i for i in range(len(series)) if series.open_time(i) == LAST + first_run * width)
    decisions = replay(model, series, start=start).decisions
    for offset, decision in enumerate(decisions):
        signal = signals.get(series.open_time(start + offset))
        if signal is None:
            continue
        assert (signal.action, signal.fraction, signal.confidence) == (
            decision.action,
            decision.fraction,
            decision.confidence,
        ), series.open_time(start + offset)
    assert {s.action for s in signals.values()} - {"hold"}


@pytest.mark.django_db
def test_a_learned_strategy_fits_once_per_refit_time_and_runs_read_only_what_a_decision_needs(
    paper, clock, monkeypatch
) -> None:
    """Test fails on main before this change: every run read and featurised the whole
    training history (1,000+ candles per market) to decide on its newest candle."""
    from strategies.library.ml import DirectionClassifier

    strategy = StrategyFactory(
        kind="ml_direction", params=ML_QUICK, markets=["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    )
    fits: list[int] = []
    featurised: list[int] = []
    real_fit, real_features = DirectionClassifier.fit, DirectionClassifier.features

    def counting_fit(self, features, close, end):
        fits.append(end)
        return real_fit(self, features, close, end)

    def counting_features(self, series):
        featurised.append(len(series))
        return real_features(self, series)

    monkeypatch.setattr(DirectionClassifier, "fit", counting_fit)
    monkeypatch.setattr(DirectionClassifier, "features", counting_features)
    width = step("4h")
    for i in range(12):  # 12 periods of 4 h: two refit times (every 6 candles = 24 h)
        clock.set(NOW + i * width)
        strategy_run(strategy=strategy, now=NOW + i * width, client=paper)
    refit_times = {s.fitted_for for s in ModelState.objects.filter(strategy=strategy)}
    assert len(refit_times) == 3  # the first run's, and two more
    # One fit and one hold-out fit per market and refit time; nothing per run.
    assert len(fits) == 3 * 3 * 2
    model = build_model("ml_direction", ML_QUICK)
    decisions = [n for n in featurised if n == model.lookback]
    assert len(decisions) == 12 * 3
    assert all(
        n in (model.lookback, model.training_window + model.lookback + 1) for n in featurised
    )


@pytest.mark.django_db
def test_each_signal_keeps_the_close_it_was_decided_at_to_measure_fills_against(
    strategy, paper
) -> None:
    from strategies.models import Candle

    strategy_run(strategy=strategy, now=NOW, client=paper)
    for signal in Signal.objects.all():
        candle = Candle.objects.get(market=signal.market, timeframe="4h", open_time=LAST)
        assert signal.reference_price == candle.close
