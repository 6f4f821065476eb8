from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from strategies.feedback import record_fill
from strategies.models import Backtest, CandleGap, Signal, Strategy
from strategies.tests.factories import (
    BacktestFactory,
    SignalFactory,
    StrategyFactory,
    StrategyRunFactory,
    raw_private_key,
)
from strategies.timeframes import step

pytestmark = pytest.mark.django_db


@pytest.fixture
def strategy() -> Strategy:
    return StrategyFactory(name="Visible Strategy", markets=["BTC/USDT", "ETH/USDT"])


def add_gaps(strategy: Strategy, count: int) -> None:
    for i in range(count):
        first = datetime(2023, 3, 24, 13, tzinfo=UTC) + timedelta(days=i)
        CandleGap.objects.create(
            exchange_id=strategy.exchange_id,
            market=strategy.markets[i % len(strategy.markets)],
            timeframe=strategy.timeframe,
            first_missing=first,
            last_missing=first + (i + 1) * step(strategy.timeframe) - step(strategy.timeframe),
            candles=i + 1,
            permanent=i % 2 == 0,
        )


def add_activity(strategy: Strategy, count: int) -> None:
    """Signals with fills, runs and backtests: what makes a page grow."""
    for i in range(count):
        buy = SignalFactory(strategy=strategy, action="buy")
        sell = SignalFactory(strategy=strategy, action="sell")
        for signal, price in ((buy, "100"), (sell, "110")):
            record_fill(
                signal_id=signal.pk, side=signal.action, amount=Decimal(1), price=Decimal(price),
                fee=Decimal(0), filled_at=signal.created_at,
            )  # fmt: skip
        StrategyRunFactory(strategy=strategy)
        BacktestFactory(strategy=strategy, market=["BTC/USDT", "ETH/USDT"][i % 2])


def test_strategy_pages_need_a_signed_in_user(client: Client, strategy) -> None:
    for url in ["/strategies/", f"/strategies/{strategy.slug}/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_the_catalogue_shows_each_strategy_with_its_backtest_and_live_stats(
    verified_client: Client, strategy
) -> None:
    add_activity(strategy, 1)
    BacktestFactory(
        strategy=strategy, total_return=Decimal("0.1234"), max_drawdown=Decimal("0.0567")
    )
    page = verified_client.get("/strategies/").content.decode()
    for text in [
        "Visible Strategy",
        "Trend Rider",
        "+12.3%",
        "5.7%",
        "BTC/USDT, ETH/USDT",
    ]:
        assert text in page, text
    assert "Hit rate" in page and "100.0%" in page  # the one closed buy gained


def test_a_strategy_without_a_backtest_points_to_where_one_is_run(
    verified_client: Client, strategy
) -> None:
    page = verified_client.get("/strategies/").content.decode()
    # It said only "No backtest yet." with no way to get one.
    assert (
        f'No backtest yet: <a href="/strategies/{strategy.slug}/#backtest-it">run one</a>' in page
    )
    detail = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    assert 'id="backtest-it"' in detail


def test_users_do_not_see_inactive_strategies_but_staff_do(
    client: Client, verified_client: Client
) -> None:
    StrategyFactory(name="Switched Off", slug="switched-off", is_active=False)
    assert "Switched Off" not in verified_client.get("/strategies/").content.decode()
    assert verified_client.get("/strategies/switched-off/").status_code == 404
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert "Switched Off" in client.get("/strategies/").content.decode()
    assert client.get("/strategies/switched-off/").status_code == 200


def test_an_unknown_strategy_is_not_found(verified_client: Client) -> None:
    assert verified_client.get("/strategies/no-such-thing/").status_code == 404


def test_the_catalogue_query_count_does_not_grow_with_strategies_or_activity(
    verified_client: Client, strategy, django_assert_num_queries
) -> None:
    add_activity(strategy, 1)
    verified_client.get("/strategies/")
    with django_assert_num_queries(8) as first:
        verified_client.get("/strategies/")
    for _ in range(3):
        add_activity(StrategyFactory(markets=["BTC/USDT", "ETH/USDT"]), 3)
    with django_assert_num_queries(len(first.captured_queries)):
        verified_client.get("/strategies/")


def test_the_detail_page_explains_the_strategy_and_shows_its_public_key_only(
    verified_client: Client, strategy
) -> None:
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    assert "Decision rule" in page and "fast SMA" in page
    assert strategy.public_key in page
    assert strategy.private_key not in page and raw_private_key(strategy) not in page


def test_the_detail_page_charts_the_backtest_as_svg_without_inline_script_or_style(
    verified_client: Client, strategy
) -> None:
    BacktestFactory(strategy=strategy)
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    assert page.count("<polyline") == 2
    assert 'class="equity-line"' in page and 'class="drawdown-line"' in page
    # Scripts come from static files or are JSON data (json_script): nothing inline runs.
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all("src=" in a or 'type="application/json"' in a for a in scripts)
    assert 'style="' not in page
    assert "css/strategies.css" in page


def test_the_detail_page_lists_signals_with_their_outcomes(
    verified_client: Client, strategy
) -> None:
    add_activity(strategy, 1)
    SignalFactory(strategy=strategy, action="hold", fraction=Decimal(0))
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    assert "+10.00%" in page  # the buy at 100 closed by the sell at 110
    assert "not traded" in page and "open" in page


def test_the_signals_average_fill_price_says_its_currency(
    verified_client: Client, strategy
) -> None:
    # Failed before: "100.00" alone, with no way to tell USDT from USDC.
    add_activity(strategy, 1)
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    cells = re.findall(r'data-label="Avg. fill price">([^<]*)<', page)
    assert sorted(cells) == ["100.00 USDT", "110.00 USDT"]


def test_the_detail_query_count_does_not_grow_with_signals_runs_or_backtests(
    verified_client: Client, user, strategy, django_assert_num_queries
) -> None:
    add_activity(strategy, 1)
    BacktestFactory(strategy=strategy, requested_by=user)
    url = f"/strategies/{strategy.slug}/"
    verified_client.get(url)
    # 19: gaps and fill quality (3), the backtest chart's candles (1), track records (3).
    with django_assert_num_queries(19) as first:
        verified_client.get(url)
    add_activity(strategy, 6)
    add_gaps(strategy, 5)
    BacktestFactory.create_batch(3, strategy=strategy, requested_by=user)
    with django_assert_num_queries(len(first.captured_queries)):
        verified_client.get(url)


def test_a_chosen_backtest_is_charted_instead_of_the_latest(
    verified_client: Client, strategy
) -> None:
    older = BacktestFactory(
        strategy=strategy, curve=[[1704067200000, "1.00", "0"], [1704081600000, "7777.00", "0"]]
    )
    BacktestFactory(strategy=strategy)
    page = verified_client.get(f"/strategies/{strategy.slug}/?backtest={older.pk}").content.decode()
    assert "7,777.00" in page
    assert verified_client.get(f"/strategies/{strategy.slug}/?backtest=nonsense").status_code == 200


def test_requesting_a_backtest_queues_it_and_shows_its_progress(
    verified_client: Client, user, strategy
) -> None:
    response = verified_client.post(
        f"/strategies/{strategy.slug}/backtest/", {"market": "ETH/USDT", "days": "90"}
    )
    backtest = Backtest.objects.get()
    assert (
        response.status_code == 302
        and response["Location"] == f"/strategies/backtests/{backtest.pk}/"
    )
    assert (backtest.requested_by, backtest.market, backtest.status) == (user, "ETH/USDT", "queued")
    page = verified_client.get(response["Location"]).content.decode()
    assert "Waiting for a worker" in page and "<progress" in page and 'http-equiv="refresh"' in page


def test_a_running_backtest_shows_its_phase_and_percent(
    verified_client: Client, user, strategy
) -> None:
    backtest = BacktestFactory(
        strategy=strategy, requested_by=user, status="running", progress=42, phase="replaying"
    )
    page = verified_client.get(f"/strategies/backtests/{backtest.pk}/").content.decode()
    assert "Running: replaying" in page and 'value="42"' in page


def test_a_backtest_just_started_reads_running_without_a_dangling_colon(
    verified_client: Client, user, strategy
) -> None:
    backtest = BacktestFactory(
        strategy=strategy, requested_by=user, status="running", progress=0, phase=""
    )
    page = verified_client.get(f"/strategies/backtests/{backtest.pk}/").content.decode()
    assert "</span>Running</h2>" in page  # it read "Running:" before its first phase


def test_a_finished_backtest_shows_its_statistics_and_charts_and_stops_refreshing(
    verified_client: Client, strategy
) -> None:
    backtest = BacktestFactory(strategy=strategy, total_return=Decimal("-0.25"))
    page = verified_client.get(f"/strategies/backtests/{backtest.pk}/").content.decode()
    assert "-25.0%" in page and page.count("<polyline") == 2 and "refresh" not in page
    assert "Final equity: <strong>11,000.00 USDT</strong>" in page  # in its currency


def test_a_backtest_on_paper_prices_says_they_are_synthetic_and_how_win_rate_counts(
    verified_client: Client, strategy
) -> None:
    paper = BacktestFactory(strategy=strategy, exchange_id="paper")
    real = BacktestFactory(strategy=strategy, exchange_id="binance")
    page = verified_client.get(f"/strategies/backtests/{paper.pk}/").content.decode()
    assert "synthetic demo prices, not a real market" in page
    assert "says nothing about how the strategy does on real prices" in page
    assert "a position still open at the end is not counted" in page
    assert "Trades counts buys and sells" in page
    page = verified_client.get(f"/strategies/backtests/{real.pk}/").content.decode()
    assert "real Binance spot candles" in page and "synthetic" not in page
    assert "a position still open at the end is not counted" in page


def test_a_finished_backtest_marks_its_buys_and_sells_on_the_price_chart(
    verified_client: Client, strategy
) -> None:
    from strategies.tests.factories import START, rows_from_closes, store_rows

    store_rows(rows_from_closes([100 + i for i in range(180)]), exchange_id=strategy.exchange_id)
    buy_at, sell_at = START + timedelta(hours=8), START + timedelta(days=3, hours=4)
    backtest = BacktestFactory(
        strategy=strategy,
        trade_log=[
            [int(buy_at.timestamp() * 1000), "buy", "102.051", "97.5"],
            [int(sell_at.timestamp() * 1000), "sell", "118.9405", "48.75"],
        ],
    )
    page = verified_client.get(f"/strategies/backtests/{backtest.pk}/").content.decode()
    found = re.search(r'<script id="backtest-series" type="application/json">(.*?)</script>', page)
    assert found is not None and 'data-chart="candles"' in page
    series = json.loads(found.group(1))
    assert series["markers"] == [
        {"time": int(buy_at.timestamp()), "market": "BTC/USDT", "side": "buy",
         "price": "102.051", "amount": "97.5"},
        {"time": int(sell_at.timestamp()), "market": "BTC/USDT", "side": "sell",
         "price": "118.9405", "amount": "48.75"},
    ]  # fmt: skip


def test_a_failed_backtest_says_why(verified_client: Client, strategy) -> None:
    backtest = BacktestFactory(strategy=strategy, status="failed", error="BadSymbol: gone")
    assert (
        "BadSymbol: gone"
        in verified_client.get(f"/strategies/backtests/{backtest.pk}/").content.decode()
    )


def test_another_users_backtest_is_not_found(verified_client: Client, strategy) -> None:
    theirs = BacktestFactory(strategy=strategy, requested_by=UserFactory())
    assert verified_client.get(f"/strategies/backtests/{theirs.pk}/").status_code == 404
    assert verified_client.get(f"/strategies/backtests/{uuid.uuid4()}/").status_code == 404
    page = verified_client.get(f"/strategies/{strategy.slug}/?backtest={theirs.pk}")
    assert str(theirs.pk) not in page.content.decode()


def test_a_second_backtest_while_one_runs_is_refused_with_a_message(
    verified_client: Client, user, strategy
) -> None:
    BacktestFactory(strategy=strategy, requested_by=user, status="queued")
    response = verified_client.post(
        f"/strategies/{strategy.slug}/backtest/", {"market": "BTC/USDT", "days": "90"}, follow=True
    )
    assert "still running" in response.content.decode()
    assert Backtest.objects.count() == 1


@pytest.mark.parametrize(
    "data", [{"market": "SOL/USDT", "days": "90"}, {"market": "BTC/USDT", "days": "3"}]
)
def test_a_backtest_form_outside_the_choices_is_refused(
    verified_client: Client, strategy, data
) -> None:
    response = verified_client.post(f"/strategies/{strategy.slug}/backtest/", data, follow=True)
    assert "Choose one of the strategy" in response.content.decode()
    assert not Backtest.objects.exists()


def test_backtests_are_requested_by_post_only(verified_client: Client, strategy) -> None:
    assert verified_client.get(f"/strategies/{strategy.slug}/backtest/").status_code == 405


def test_the_navigation_links_to_the_catalogue(verified_client: Client) -> None:
    assert 'href="/strategies/"' in verified_client.get("/strategies/").content.decode()


def test_my_backtests_are_listed_on_the_strategy_page(
    verified_client: Client, user, strategy
) -> None:
    mine = BacktestFactory(
        strategy=strategy, requested_by=user, start=BacktestFactory.start - timedelta(days=1)
    )
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    assert "Your backtests" in page and f"/strategies/backtests/{mine.pk}/" in page


def test_the_detail_page_lists_every_parameter_with_its_default_filled_in(
    verified_client: Client,
) -> None:
    strategy = StrategyFactory(params={"fast": 10}, max_signal_age=5400)
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    assert "<code>fast</code></th><td>10</td>" in page
    assert "<code>slow</code></th><td>50</td>" in page  # not set: the default runs
    assert "fast moving average, in candles" in page
    assert "1 h 30 min" in page


def test_the_detail_page_reports_the_gaps_of_each_markets_candles(
    verified_client: Client, strategy
) -> None:
    add_gaps(strategy, 3)  # BTC: 1 and 3 candles, both never filled; ETH: 2 candles
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    section = page[page.index('id="market-data"') : page.index("<h2>Backtests")]
    section = re.sub(r' data-label="[^"]*"', "", section)  # the phone's cell labels
    btc = section[section.index("<td>BTC/USDT</td>") : section.index("<td>ETH/USDT</td>")]
    assert "<td>2</td><td>4</td>" in btc
    assert "3 from 2023-03-26 13:00 UTC to 2023-03-26 21:00 UTC" in btc
    assert "<td>2</td>" in btc.split("UTC</td>")[1]
    eth = section[section.index("<td>ETH/USDT</td>") :]
    assert "<td>1</td><td>2</td>" in eth


def test_the_detail_page_shows_fill_quality_and_says_what_the_model_learns_from_and_when(
    verified_client: Client,
) -> None:
    learned = StrategyFactory(
        kind="ml_direction", params={"train_window": 500, "retrain_every": 42}, timeframe="4h"
    )
    buy = SignalFactory(strategy=learned, action="buy")
    Signal.objects.filter(pk=buy.pk).update(reference_price=Decimal(100))
    record_fill(
        signal_id=buy.pk, side="buy", amount=Decimal(1), price=Decimal("100.25"),
        fee=Decimal("0.1"), filled_at=buy.period + timedelta(minutes=1), fill_id="t1",
        order_ref="o1", ordered_amount=Decimal(2),
    )  # fmt: skip
    page = verified_client.get(f"/strategies/{learned.slug}/").content.decode()
    execution = page[page.index('id="execution"') : page.index('id="market-data"')]
    assert "+0.250%" in execution and "0.100% of traded value" in execution
    assert "50.0%" in execution  # half of what was ordered got filled
    assert "the newest 500 closed 4h candles" in execution
    assert "once every 42 candles (168 hours)" in execution
    assert "Next refit:" in execution and "do not change the model" in execution


def test_a_rule_strategy_page_says_it_does_not_learn(verified_client: Client, strategy) -> None:
    page = verified_client.get(f"/strategies/{strategy.slug}/").content.decode()
    assert "It does not learn: it applies the fixed rule above" in page
    assert "No bot has traded its signals yet." in page
