from __future__ import annotations

from importlib import import_module
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_q.models import Schedule

from oneclick.schedules import PERIODIC, STRATEGY_RUNS, readme_table
from strategies.schedules import CATCH_UP_PREFIX, RUN_PREFIX
from strategies.schedules import ensure_schedules as strategies_schedules
from trading.schedules import ensure_schedules as trading_schedules
from vault.schedules import ensure_schedules as vault_schedules

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_one_the_code_prints():
    out = StringIO()
    call_command("schedules", stdout=out)
    assert out.getvalue() == readme_table()
    assert readme_table() in README.read_text()


def test_every_listed_task_exists():
    for entry in (*PERIODIC, STRATEGY_RUNS):
        module, name = entry.func.rsplit(".", 1)
        assert callable(getattr(import_module(module), name)), entry.func


def test_schedule_names_are_unique_and_prefixed_by_their_app():
    names = [entry.name for entry in PERIODIC]
    assert len(names) == len(set(names))
    assert all(entry.name.startswith(f"{entry.app}: ") for entry in PERIODIC)
    assert STRATEGY_RUNS.name.startswith(RUN_PREFIX)


@pytest.mark.django_db
def test_the_apps_create_exactly_the_listed_schedules():
    Schedule.objects.all().delete()
    vault_schedules()
    trading_schedules()
    strategies_schedules()
    # A strategy's catch-up run is a one-off, not one of the periodic schedules.
    periodic = Schedule.objects.exclude(name__startswith=RUN_PREFIX).exclude(
        name__startswith=CATCH_UP_PREFIX
    )
    fixed = {s.name: (s.func, s.minutes) for s in periodic}
    assert fixed == {entry.name: (entry.func, entry.minutes) for entry in PERIODIC}
    runs = Schedule.objects.filter(name__startswith=RUN_PREFIX)
    assert runs.exists()
    assert {s.func for s in runs} == {STRATEGY_RUNS.func}


@pytest.mark.django_db
def test_running_the_registration_again_updates_rather_than_copies():
    vault_schedules()
    trading_schedules()
    count = Schedule.objects.count()
    vault_schedules()
    trading_schedules()
    assert Schedule.objects.count() == count


@pytest.mark.django_db
@override_settings(STRATEGY_REFIT_CHECK_MINUTES=5)
def test_a_period_setting_overrides_the_listed_one():
    strategies_schedules()
    assert Schedule.objects.get(name="strategies: refit learned models").minutes == 5


@pytest.mark.django_db
def test_a_shortened_period_takes_effect_at_once_not_after_the_old_one():
    # The balances read went from 15 minutes to 1: an upgraded install kept waiting
    # for the next run the old period had set.
    from datetime import timedelta

    from django.utils import timezone

    trading_schedules()
    row = Schedule.objects.get(name="trading: refresh balances")
    later = timezone.now() + timedelta(minutes=15)
    Schedule.objects.filter(pk=row.pk).update(minutes=15, next_run=later)
    trading_schedules()
    row.refresh_from_db()
    assert row.minutes == 1
    assert row.next_run <= timezone.now() + timedelta(minutes=1)
    # An unchanged period keeps its time.
    Schedule.objects.filter(pk=row.pk).update(next_run=later - timedelta(minutes=14, seconds=30))
    trading_schedules()
    row.refresh_from_db()
    assert row.next_run == later - timedelta(minutes=14, seconds=30)
