"""What runs when: every django-q2 schedule of every app, in one list.

Each app's ``schedules.py`` creates its own rows from this list after migrate
(``ensure_periodic``, idempotent by name, as InvenTree does); nothing else
defines a schedule. The README's "What runs when" table is generated from it
(``python manage.py schedules``) and a test keeps the two equal.

Strings only (dotted task paths): this module imports no app, so every app may
read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule


@dataclass(frozen=True)
class Periodic:
    name: str  # the Schedule row's name; the app registering it is its prefix
    func: str  # dotted path of the task django-q2 calls
    minutes: int  # period
    does: str  # one line for the README table
    setting: str = ""  # a setting that overrides ``minutes``, when there is one

    @property
    def app(self) -> str:
        return self.func.split(".")[0]

    def period(self) -> int:
        return int(getattr(settings, self.setting, self.minutes)) if self.setting else self.minutes


PERIODIC: tuple[Periodic, ...] = (
    Periodic(
        "vault: re-check exchange keys",
        "vault.tasks.recheck_all_credentials",
        360,
        "one re-check task per active key (permissions, IP restriction, expiry)",
    ),
    Periodic(
        "strategies: fail stalled backtests",
        "strategies.tasks.fail_stalled_backtests",
        15,
        "marks failed a backtest whose worker died",
    ),
    Periodic(
        "strategies: refit learned models",
        "strategies.tasks.refit_due_models",
        60,
        "one refit task per active strategy with a learned model that is due",
        setting="STRATEGY_REFIT_CHECK_MINUTES",
    ),
    Periodic(
        "trading: sweep unfinished orders",
        "trading.tasks.sweep_unfinished",
        1,
        "advances unfinished orders, decisions due a retry and missing decisions",
    ),
    Periodic(
        "trading: irregular activity watch",
        "trading.tasks.watch_activity",
        60,
        "one check task per active account with bots: 24 h volume over 10x positions alerts",
    ),
    Periodic(
        "trading: prune rate windows",
        "trading.tasks.prune_rate_windows",
        360,
        "deletes shared rate-limit windows older than two days",
    ),
    # The dashboard's equity and drawdown charts; aligned to trading.snapshots.SNAPSHOT_MINUTES.
    Periodic(
        "trading: equity snapshots",
        "trading.tasks.take_equity_snapshots",
        60,
        "hourly equity point per bot and account for the charts",
    ),
    Periodic(
        "trading: prune equity snapshots",
        "trading.tasks.prune_equity_snapshots",
        1440,
        "deletes equity points older than 400 days",
    ),
    Periodic(
        "trading: refresh balances",
        "trading.tasks.refresh_balances",
        1,
        "reads the balances of accounts that traded, were never read or were read over "
        "BALANCE_MAX_AGE_SECONDS ago (not after every order)",
    ),
)

# Not a fixed row: one schedule per active strategy, kept by strategies.schedules.
STRATEGY_RUNS = Periodic(
    "strategies: run SLUG",
    "strategies.tasks.run_strategy",
    240,
    "one run of the strategy (signals, then fan-out to its bots); first at the next candle close",
)


def periodic_of(app: str) -> list[Periodic]:
    return [entry for entry in PERIODIC if entry.app == app]


def ensure_periodic(app: str) -> None:
    """Create or update the fixed schedules of ``app`` (idempotent, by name)."""
    now = timezone.now()
    for entry in periodic_of(app):
        minutes = entry.period()
        row, _ = Schedule.objects.update_or_create(
            name=entry.name,
            defaults={
                "func": entry.func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
        # A period shortened by an upgrade applies now, not after the old period's wait.
        soonest = now + timedelta(minutes=minutes)
        if row.next_run is not None and row.next_run > soonest:
            Schedule.objects.filter(pk=row.pk).update(next_run=now)


def _minutes(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def readme_table() -> str:
    """The README's "What runs when" table, as markdown."""
    rows = [
        "| schedule | every | calls | what it does |",
        "| --- | --- | --- | --- |",
    ]
    for entry in (*PERIODIC, STRATEGY_RUNS):
        every = _minutes(entry.minutes)
        if entry.setting:
            every += f" (`{entry.setting}`)"
        if entry is STRATEGY_RUNS:
            every = f"the strategy's interval (default {every})"
        rows.append(f"| {entry.name} | {every} | `{entry.func}` | {entry.does} |")
    return "\n".join(rows) + "\n"
