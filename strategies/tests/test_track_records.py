"""Issue 11 item 3: official records on the shipped real history, and live records."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.test import Client

from strategies.backtest import Costs, run_backtest
from strategies.library import build_model
from strategies.library.base import Param
from strategies.library.trend import TrendFollowing
from strategies.models import Candle, Strategy, TrackRecord
from strategies.performance import buy_and_hold, summary_of
from strategies.reference_data import SHIPPED, read_series
from strategies.tests.factories import (
    START,
    SignalFactory,
    StrategyFactory,
    rows_from_closes,
    store_rows,
)
from strategies.timeframes import step
from strategies.track_records import (
    REFERENCE_EXCHANGE,
    SOURCE,
    live_records,
    load_reference_history,
    official_records,
    official_records_refresh,
    shipped_markets,
)

pytestmark = pytest.mark.django_db
TREND = {"fast": 50, "slow": 200, "band": 0.01}


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """The shipped history stored once for the module (it is read-only here)."""
    with django_db_blocker.unblock():
        results = load_reference_history()
    yield results
    with django_db_blocker.unblock():
        Candle.objects.filter(exchange_id=REFERENCE_EXCHANGE).delete()


def test_the_shipped_history_is_real_binance_btc_eth_and_sol_with_its_sources() -> None:
    assert shipped_markets() == {"BTC/USDT": "4h", "ETH/USDT": "4h", "SOL/USDT": "4h"}
    sources = (SHIPPED / "SOURCES.md").read_text()
    assert "MIT" in sources and "friendly-fishstick" in sources
    assert sum(p.stat().st_size for p in SHIPPED.glob("*.gz")) < 1_000_000  # the repo stays small


def test_loading_the_shipped_history_again_stores_nothing_new(loaded) -> None:
    assert {(r.market, r.rows) for r in loaded} == {
        ("BTC/USDT", 6691), ("ETH/USDT", 6691), ("SOL/USDT", 4379),
    }  # fmt: skip
    again = load_reference_history()
    assert [r.added for r in again] == [0, 0, 0]
    assert Candle.objects.filter(exchange_id=REFERENCE_EXCHANGE).count() == 6691 * 2 + 4379


def test_the_official_record_is_the_walk_forward_backtest_beside_buy_and_hold(loaded) -> None:
    strategy = StrategyFactory(
        kind="trend_following", params=TREND, markets=["BTC/USDT", "BTC/USDC", "SOL/USDT"]
    )
    records = official_records_refresh(strategy=strategy)
    # BTC/USDC has no shipped history: no record rather than a made-up one.
    assert [r.market for r in records] == ["BTC/USDT", "SOL/USDT"]
    series = read_series(SHIPPED / "BTCUSDT-4h.csv.gz")
    costs = Costs(fee_rate=D("0.001"), slippage_rate=D("0.0005"))
    result = run_backtest(
        build_model("trend_following", TREND), series, capital=D(10000), costs=costs
    )
    holding = buy_and_hold(series, start=result.ledger.start, capital=D(10000), costs=costs)
    [btc, _sol] = official_records(strategy)
    expected = summary_of(result, "4h")
    assert btc.mine.total_return == expected.total_return.quantize(D("0.000001"))
    assert expected.calmar is not None
    assert btc.mine.calmar == expected.calmar.quantize(D("0.000001"))
    assert btc.holding.max_drawdown == summary_of(holding, "4h").max_drawdown.quantize(
        D("0.000001")
    )
    assert btc.record.candles == 6691 and btc.record.end.year == 2026
    # Per calendar year, from the first decision (after the 100-day warm-up) on.
    assert [year for year, _mine, _held in btc.yearly] == [2023, 2024, 2025, 2026]
    assert all(held is not None for _year, _mine, held in btc.yearly)


def test_an_up_to_date_record_is_kept_and_new_settings_are_recomputed(loaded) -> None:
    strategy = StrategyFactory(kind="trend_following", params=TREND, markets=["ETH/USDT"])
    [first] = official_records_refresh(strategy=strategy)
    [kept] = official_records_refresh(strategy=strategy)
    assert kept.computed_at == first.computed_at
    strategy.params = {**TREND, "risk_brake": 0.1}
    strategy.save()
    [changed] = official_records_refresh(strategy=strategy)
    assert changed.params["risk_brake"] == 0.1 and changed.computed_at > first.computed_at
    strategy.markets = ["DOGE/USDT"]
    strategy.save()
    assert official_records_refresh(strategy=strategy) == []
    assert not TrackRecord.objects.filter(strategy=strategy).exists()


def test_a_record_made_under_other_defaults_is_recomputed(loaded, monkeypatch) -> None:
    strategy = StrategyFactory(kind="trend_following", params=TREND, markets=["ETH/USDT"])
    [first] = official_records_refresh(strategy=strategy)
    # The defaults are stored with it.
    assert first.params["risk_target_vol"] == TrendFollowing.PARAMS["risk_target_vol"].default
    # The overlay's default changes while the strategy's own settings stay the same.
    monkeypatch.setitem(
        TrendFollowing.PARAMS, "risk_target_vol", Param(0.77, 0.01, 10, "another default")
    )
    [changed] = official_records_refresh(strategy=strategy)
    assert changed.params["risk_target_vol"] == 0.77 and changed.computed_at > first.computed_at


def test_the_live_record_prices_its_own_signals_like_the_backtest(settings) -> None:
    settings.STRATEGY_BACKTEST_FEE_RATE = "0"
    settings.STRATEGY_BACKTEST_SLIPPAGE_RATE = "0"
    strategy = StrategyFactory(markets=["BTC/USDT"])
    # Candles open at the previous close: 100, 100, 120, 150, 150, 150.
    store_rows(rows_from_closes([100, 120, 150, 150, 150, 150]))
    width = step("4h")
    SignalFactory(strategy=strategy, period=START, action="buy", fraction=D(1))
    SignalFactory(strategy=strategy, period=START + 1 * width, action="hold", fraction=D(0))
    SignalFactory(strategy=strategy, period=START + 2 * width, action="sell", fraction=D(1))
    [record] = live_records(strategy)
    # Bought at the open after the buy's candle (100), sold at the open after the
    # sell's candle (150): +50 %; holding from the same open also ends at 150.
    assert (record.market, record.since, record.signals, record.candles) == (
        "BTC/USDT", START, 3, 6,
    )  # fmt: skip
    assert record.mine is not None and record.holding is not None
    assert record.mine.total_return == D("0.5") and record.mine.trades == 2
    assert record.holding.total_return == D("0.5")
    assert record.mine.exposure is not None and record.holding.exposure is not None
    assert D(0) < record.mine.exposure < record.holding.exposure


def test_a_strategy_without_signals_has_no_live_record() -> None:
    assert live_records(StrategyFactory()) == []


def test_the_strategy_page_shows_the_real_record_yearly_returns_and_live_record(
    loaded, verified_client: Client
) -> None:
    strategy = StrategyFactory(kind="trend_following", params=TREND, markets=["BTC/USDT"])
    official_records_refresh(strategy=strategy)
    store_rows(rows_from_closes([100, 120, 150]))
    SignalFactory(strategy=strategy, period=START, action="buy", fraction=D(1))
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    for text in [
        "Track record on real markets",
        "Buy and hold",
        "Calmar",
        "Time in market",
        "Returns per calendar year",
        "2024",
        "Live, since it started emitting signals",
        "synthetic demo prices",
        # Said once, with the unit of the starting capital (it read "... shipped with
        # OneClick (Binance spot candles shipped with OneClick (...)) ... with 10,000.00.").
        f"on 4h {SOURCE}: each decision",
        "starting with 10,000.00 of the market's quote currency.",
    ]:
        assert text in page, text


def test_the_command_loads_the_history_and_records_every_strategy_once(loaded) -> None:
    Strategy.objects.exclude(slug="trend-rider").delete()
    call_command("load_reference_history", verbosity=0)
    first = dict(TrackRecord.objects.values_list("market", "computed_at"))
    assert set(first) == {"BTC/USDT", "ETH/USDT"}  # its USDC markets have no history
    call_command("load_reference_history", verbosity=0)
    assert dict(TrackRecord.objects.values_list("market", "computed_at")) == first


def test_a_backtest_on_the_real_history_runs_over_all_of_it_without_fetching(
    loaded, verified_client: Client, monkeypatch
) -> None:
    from strategies.models import Backtest
    from strategies.services import backtest_execute

    monkeypatch.setattr("strategies.services.async_task", lambda *args: None)
    strategy = StrategyFactory(kind="trend_following", params=TREND, markets=["ETH/USDT"])
    response = verified_client.post(
        f"/strategies/{strategy.slug}/backtest/",
        {"market": "ETH/USDT", "data": "real", "days": "90"},
    )
    backtest = Backtest.objects.get(strategy=strategy)
    assert response.status_code == 302
    assert backtest.exchange_id == REFERENCE_EXCHANGE
    assert (backtest.start.year, backtest.end.year) == (2023, 2026)  # no 1,830-day cap
    phases: list[tuple[str, int]] = []
    monkeypatch.setattr(
        "strategies.services._report",
        lambda bt, *, phase, progress: phases.append((phase, progress)),
    )
    # No exchange client at all: the shipped history is read, never fetched.
    done = backtest_execute(backtest=backtest, client=object())
    assert done.status == Backtest.Status.DONE, done.error
    assert done.candles == 6691 - 599  # all of it after the overlay's 600-candle warm-up
    assert phases[0] == ("reading stored candles", 50) and phases[-1][0] == "replaying"


def test_a_real_history_backtest_of_a_market_without_one_is_refused(loaded) -> None:
    from strategies.services import BacktestRefused, backtest_request

    strategy = StrategyFactory(markets=["BTC/USDC"])
    with pytest.raises(BacktestRefused, match="No real 4h history of BTC/USDC"):
        backtest_request(strategy=strategy, market="BTC/USDC", days=90, real_history=True)


def test_the_strategy_page_states_the_risk_overlay_rule(verified_client: Client) -> None:
    strategy = StrategyFactory()
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    assert 'id="risk-rule"' in page and "risk_brake" in page and "same in live runs" in page


def test_a_backtest_page_says_whose_candles_it_replayed(verified_client: Client, user) -> None:
    from strategies.tests.factories import BacktestFactory

    demo = BacktestFactory(requested_by=user)
    real = BacktestFactory(requested_by=user, strategy=demo.strategy, exchange_id="binance")
    assert (
        "synthetic demo prices"
        in verified_client.get(f"/strategies/backtests/{demo.pk}/").content.decode()
    )
    page = verified_client.get(f"/strategies/backtests/{real.pk}/").content.decode()
    assert "real Binance spot candles" in page


def test_the_catalogue_shows_each_strategys_real_record_beside_holding(
    loaded, verified_client: Client, django_assert_num_queries
) -> None:
    strategy = StrategyFactory(
        name="Real One", kind="trend_following", params=TREND, markets=["BTC/USDC", "ETH/USDT"]
    )
    official_records_refresh(strategy=strategy)
    page = verified_client.get("/strategies/").content.decode()
    card = page[page.index("Real One") :]
    assert "On real markets" in card and "ETH/USDT, 2023-04-10" in card
    assert "Buy and hold" in card and "on demo prices" in card
    with django_assert_num_queries(8):
        verified_client.get("/strategies/")
