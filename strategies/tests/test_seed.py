from __future__ import annotations

import pytest

from strategies.models import Strategy
from strategies.seed import DEFAULT_STRATEGIES, RETIRED_DEFAULTS, seed_strategies
from strategies.signing import verify_signal
from strategies.tests.factories import SignalFactory, StrategyFactory

pytestmark = pytest.mark.django_db
SLUGS = [d["slug"] for d in DEFAULT_STRATEGIES]


def test_migrate_seeded_trend_following_with_its_own_keys() -> None:
    seeded = list(Strategy.objects.filter(slug__in=SLUGS))
    assert sorted(s.kind for s in seeded) == ["trend_following"]
    assert len({s.public_key for s in seeded}) == len(seeded)
    for strategy in seeded:
        strategy.full_clean(exclude=["private_key"])
        assert verify_signal(SignalFactory(strategy=strategy), strategy.public_key)


def test_seeding_again_creates_nothing_and_keeps_staff_edits() -> None:
    Strategy.objects.filter(slug="trend-rider").update(name="Renamed by staff", interval_minutes=60)
    keys = dict(Strategy.objects.values_list("slug", "public_key"))
    assert seed_strategies() == []
    strategy = Strategy.objects.get(slug="trend-rider")
    assert (strategy.name, strategy.interval_minutes) == ("Renamed by staff", 60)
    assert dict(Strategy.objects.values_list("slug", "public_key")) == keys


def test_a_deleted_default_is_created_again_with_new_keys() -> None:
    old_key = Strategy.objects.get(slug="trend-rider").public_key
    Strategy.objects.filter(slug="trend-rider").delete()
    [created] = seed_strategies()
    assert created.slug == "trend-rider" and created.public_key != old_key


def test_mean_reversion_is_retired_from_the_defaults_but_an_existing_one_is_kept() -> None:
    assert not Strategy.objects.filter(kind="mean_reversion").exists()
    assert "dip-buyer" in RETIRED_DEFAULTS and "dip-buyer" not in SLUGS
    StrategyFactory(slug="dip-buyer", kind="mean_reversion")
    assert seed_strategies() == []
    assert Strategy.objects.get(slug="dip-buyer").is_active


def test_the_shipped_trend_strategy_uses_the_slower_averages() -> None:
    strategy = Strategy.objects.get(slug="trend-rider")
    assert strategy.params == {"fast": 50, "slow": 200, "band": 0.01}


def test_machine_learning_is_retired_from_the_defaults_but_an_existing_one_is_kept() -> None:
    assert not Strategy.objects.filter(kind="ml_direction").exists()
    assert "next-candle" in RETIRED_DEFAULTS and "next-candle" not in SLUGS
    StrategyFactory(slug="next-candle", kind="ml_direction")
    assert seed_strategies() == []
    assert Strategy.objects.get(slug="next-candle").is_active


def test_an_unedited_trend_rider_gets_the_description_of_its_new_overlay() -> None:
    from importlib import import_module

    from django.apps import apps

    migration = import_module("strategies.migrations.0009_trend_rider_description")
    shipped = next(d for d in DEFAULT_STRATEGIES if d["slug"] == "trend-rider")
    assert shipped["description"] == migration.NEW
    Strategy.objects.filter(slug="trend-rider").update(description=migration.OLD)
    edited = StrategyFactory(slug="other", description=migration.OLD)
    migration.forwards(apps, None)
    assert Strategy.objects.get(slug="trend-rider").description == migration.NEW
    edited.refresh_from_db()
    assert edited.description == migration.OLD  # only the shipped strategy is rewritten
    Strategy.objects.filter(slug="trend-rider").update(description="Staff's own words")
    migration.forwards(apps, None)
    assert Strategy.objects.get(slug="trend-rider").description == "Staff's own words"
