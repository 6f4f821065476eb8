from __future__ import annotations

import pytest
from django.test import Client
from django_q.models import Schedule

from strategies.models import Backtest, Strategy, StrategyRun
from strategies.schedules import run_schedule_name
from strategies.tests.factories import (
    BacktestFactory,
    SignalFactory,
    StrategyFactory,
    raw_private_key,
)

pytestmark = pytest.mark.django_db
URL = "/admin/strategies/strategy/"
QUICK = {"fast": 3, "slow": 6, "vol_window": 5}


def act(client: Client, action: str, *strategies: Strategy):
    return client.post(
        URL, {"action": action, "_selected_action": [s.pk for s in strategies]}, follow=True
    )


def test_no_admin_page_shows_a_private_key(staff_client: Client) -> None:
    strategy = StrategyFactory()
    signal = SignalFactory(strategy=strategy)
    secrets = [strategy.private_key, raw_private_key(strategy)]
    pages = [
        URL, f"{URL}{strategy.pk}/change/", f"{URL}add/", f"{URL}{strategy.pk}/history/",
        "/admin/strategies/signal/", f"/admin/strategies/signal/{signal.pk}/change/",
    ]  # fmt: skip
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert all(secret not in page for secret in secrets), url
    assert strategy.public_key in staff_client.get(f"{URL}{strategy.pk}/change/").content.decode()


def test_rotating_keys_from_the_admin_gives_a_new_pair(staff_client: Client) -> None:
    strategy = StrategyFactory()
    old_public, old_private = strategy.public_key, strategy.private_key
    response = act(staff_client, "rotate_keys", strategy)
    assert "New keys for 1 strategy(ies)." in response.content.decode()
    strategy = Strategy.objects.get(pk=strategy.pk)
    assert strategy.public_key != old_public and strategy.private_key != old_private


def test_deactivating_and_activating_follow_through_to_the_schedule(staff_client: Client) -> None:
    strategy = Strategy.objects.get(slug="trend-rider")
    act(staff_client, "deactivate", strategy)
    assert not Strategy.objects.get(pk=strategy.pk).is_active
    assert not Schedule.objects.filter(name=run_schedule_name(strategy)).exists()
    act(staff_client, "activate", strategy)
    assert Schedule.objects.filter(name=run_schedule_name(strategy)).exists()


def test_changing_the_interval_reschedules_the_strategy(staff_client: Client) -> None:
    strategy = StrategyFactory(params=QUICK)
    form = {
        "name": strategy.name, "description": "", "exchange_id": "paper", "markets": '["BTC/USDT"]',
        "timeframe": "4h", "interval_minutes": "60", "max_signal_age": "7200", "params": '{"fast": 3, "slow": 6}',
        "risk": "low", "is_active": "on",
    }  # fmt: skip
    response = staff_client.post(f"{URL}{strategy.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Schedule.objects.get(name=run_schedule_name(strategy)).minutes == 60
    strategy.refresh_from_db()
    assert strategy.slug.startswith("test-strategy") and strategy.params == {"fast": 3, "slow": 6}


def test_the_admin_refuses_parameters_the_model_does_not_accept(staff_client: Client) -> None:
    strategy = StrategyFactory()
    form = {
        "name": "x", "exchange_id": "paper", "markets": '["BTC/USDT"]', "timeframe": "4h",
        "interval_minutes": "240", "max_signal_age": "28800", "params": '{"fast": 99, "slow": 5}', "risk": "low",
    }  # fmt: skip
    response = staff_client.post(f"{URL}{strategy.pk}/change/", form)
    assert response.status_code == 200
    assert "fast must be shorter than slow" in response.content.decode()


def test_a_strategy_added_in_the_admin_gets_keys_and_a_schedule(staff_client: Client) -> None:
    form = {
        "slug": "admin-made", "kind": "mean_reversion", "name": "Admin made", "description": "",
        "exchange_id": "paper", "markets": '["SOL/USDT"]', "timeframe": "1h", "interval_minutes": "60",
        "max_signal_age": "7200", "params": "{}", "risk": "high", "is_active": "on",
    }  # fmt: skip
    response = staff_client.post(f"{URL}add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    strategy = Strategy.objects.get(slug="admin-made")
    assert len(strategy.public_key) == 64 and len(strategy.private_key) == 64
    assert Schedule.objects.get(name=run_schedule_name(strategy)).minutes == 60


def test_run_now_queues_a_run(staff_client: Client) -> None:
    strategy = StrategyFactory(params=QUICK)
    act(staff_client, "run_now", strategy)
    # Tasks run inline in tests.
    assert StrategyRun.objects.filter(strategy=strategy).count() == 1


def test_official_backtests_are_queued_for_each_market(staff_client: Client) -> None:
    strategy = StrategyFactory(markets=["BTC/USDT", "ETH/USDT"])
    response = act(staff_client, "queue_official_backtests", strategy)
    assert "2 backtest(s) queued." in response.content.decode()
    assert sorted(Backtest.objects.filter(requested_by=None).values_list("market", flat=True)) == [
        "BTC/USDT",
        "ETH/USDT",
    ]


def test_system_records_are_read_only(staff_client: Client) -> None:
    signal = SignalFactory()
    backtest = BacktestFactory()
    for url in [
        f"/admin/strategies/signal/{signal.pk}/change/",
        f"/admin/strategies/backtest/{backtest.pk}/change/",
    ]:
        assert 'name="_save"' not in staff_client.get(url).content.decode()
    assert staff_client.get("/admin/strategies/signal/add/").status_code == 403
    for url in ["/admin/strategies/candle/", "/admin/strategies/modelstate/", "/admin/strategies/strategyrun/",
                "/admin/strategies/signaloutcome/", "/admin/strategies/backtest/"]:  # fmt: skip
        assert staff_client.get(url).status_code == 200, url
