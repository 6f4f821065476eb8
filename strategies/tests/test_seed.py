from __future__ import annotations

import pytest

from strategies.library import REGISTRY
from strategies.models import Strategy
from strategies.seed import DEFAULT_STRATEGIES, seed_strategies
from strategies.signing import verify_signal
from strategies.tests.factories import SignalFactory

pytestmark = pytest.mark.django_db
SLUGS = [d["slug"] for d in DEFAULT_STRATEGIES]


def test_migrate_seeded_one_strategy_of_each_kind_with_its_own_keys() -> None:
    seeded = list(Strategy.objects.filter(slug__in=SLUGS))
    assert sorted(s.kind for s in seeded) == sorted(REGISTRY)
    assert len({s.public_key for s in seeded}) == 3
    for strategy in seeded:
        strategy.full_clean(exclude=["private_key"])
        assert verify_signal(SignalFactory(strategy=strategy), strategy.public_key)


def test_seeding_again_creates_nothing_and_keeps_staff_edits() -> None:
    Strategy.objects.filter(slug="dip-buyer").update(name="Renamed by staff", interval_minutes=60)
    keys = dict(Strategy.objects.values_list("slug", "public_key"))
    assert seed_strategies() == []
    strategy = Strategy.objects.get(slug="dip-buyer")
    assert (strategy.name, strategy.interval_minutes) == ("Renamed by staff", 60)
    assert dict(Strategy.objects.values_list("slug", "public_key")) == keys


def test_a_deleted_default_is_created_again_with_new_keys() -> None:
    old_key = Strategy.objects.get(slug="next-candle").public_key
    Strategy.objects.filter(slug="next-candle").delete()
    [created] = seed_strategies()
    assert created.slug == "next-candle" and created.public_key != old_key
