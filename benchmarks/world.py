"""Building a platform world for the benchmarks and driving it through the
product's public entry points: a signed signal, ``trading.fanout.fan_out``,
real ``manage.py qcluster`` workers, and the database to watch.

Nothing here reaches into the execution internals, so the benchmarks keep
working while those change; what they read is the outcome (orders at the paper
exchange, fills and decisions recorded by the platform).
"""

from __future__ import annotations

import os
import signal as os_signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import common


@dataclass
class World:
    strategy_id: int
    bot_ids: list[str]
    api_keys: list[str]


def build_world(
    *, bots: int, accounts: int, allocation: str = "1000", prefix: str = "fan"
) -> World:
    """``bots`` bots on one strategy, spread over ``accounts`` paper accounts (each
    account a user with one credential), every paper account funded."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from strategies.models import Strategy
    from strategies.signing import generate_key_pair
    from trading.models import Bot
    from vault.models import ExchangeCredential, mask_key

    user_model = get_user_model()
    private, public = generate_key_pair()
    with transaction.atomic():
        strategy = Strategy.objects.create(
            slug=f"{prefix}-bench",
            name=f"Benchmark {prefix}",
            description="A strategy made by a benchmark.",
            kind="trend_following",
            markets=["BTC/USDT"],
            timeframe="4h",
            private_key=private,
            public_key=public,
        )
        users = []
        for n in range(accounts):
            user = user_model(email=f"{prefix}{n}@bench.invalid")
            user.set_unusable_password()  # no password hashing: 1,000 users in seconds
            users.append(user)
        users = user_model.objects.bulk_create(users)
        keys = [f"paper-{prefix}-{n:06d}" for n in range(accounts)]
        credentials = []
        for user, key in zip(users, keys, strict=True):
            credential = ExchangeCredential(
                owner=user,
                exchange_id="paper",
                label="Paper",
                api_key=key,
                secret=common.BENCH_SECRET,
                api_key_masked=mask_key(key),
                permissions={
                    "verified": True,
                    "can_trade": True,
                    "can_withdraw": False,
                    "ip_restricted": True,
                },
                permissions_verified=True,
                ip_restricted=True,
            )
            credential.save()  # the sealed fields bind to the row: one save each
            credentials.append(credential)
        amount = Decimal(allocation)
        made = Bot.objects.bulk_create(
            Bot(
                owner=credentials[n % accounts].owner,
                credential=credentials[n % accounts],
                strategy=strategy,
                name=f"Bench bot {n}",
                markets=["BTC/USDT"],
                quote_currency="USDT",
                allocation=amount,
                cash=amount,
                equity=amount,
                peak_equity=amount,
            )
            for n in range(bots)
        )
    # Open paper accounts, as their owners' first visit would have.
    common.fund_accounts(keys, {"USDT": str(Decimal(allocation) * (bots // accounts + 1))})
    return World(strategy.pk, [str(bot.pk) for bot in made], keys)


def emit_signal(strategy_id: int) -> tuple[str, datetime]:
    """A fresh signed BUY signal, then ``fan_out`` as a strategy run does."""
    from django.utils import timezone

    from strategies.models import Signal, Strategy, StrategyRun
    from strategies.signing import sign_signal
    from trading.fanout import fan_out

    strategy = Strategy.objects.get(pk=strategy_id)
    now = timezone.now()
    run = StrategyRun.objects.create(
        strategy=strategy, started_at=now, status=StrategyRun.Status.SUCCEEDED
    )
    signal = Signal(
        strategy=strategy,
        run=run,
        market="BTC/USDT",
        action=Signal.Action.BUY,
        fraction=Decimal("0.5000"),
        confidence=Decimal("0.7500"),
        period=now,
        created_at=now,
    )
    sign_signal(signal)
    signal.save(force_insert=True)
    fan_out([str(signal.pk)])
    return str(signal.pk), signal.created_at


# --- the task cluster --------------------------------------------------------------------------
class Cluster:
    """``manage.py qcluster`` processes we started, and only those, stopped by their id."""

    def __init__(self, count: int, log_dir: Path) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = []
        for n in range(count):
            log = (log_dir / f"qcluster-{n}.log").open("wb")
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "qcluster"],
                    cwd=common.ROOT,
                    env=os.environ.copy(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its workers share its process group
                )
            )

    def wait_ready(self, timeout: float = 60) -> None:
        from django_q.tasks import async_task, result

        probe = async_task("time.time")
        if result(probe, wait=int(timeout * 1000)) is None:
            self.stop()
            raise SystemExit("the task cluster did not start; see its log")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, os_signal.SIGTERM)
        deadline = time.time() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(1.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, os_signal.SIGKILL)
                process.wait(timeout=10)
        for log in self.logs:
            log.close()


def purge_queue() -> None:
    """Drop tasks a previous run may have left in the broker (Redis outlives the database)."""
    from django_q.brokers import get_broker

    get_broker().purge_queue()


# --- watching the outcome -----------------------------------------------------------------------
@dataclass
class Progress:
    orders: int
    fills: int
    decided: int
    outcomes: dict[str, int]


def progress(api_keys: list[str], signal_id: str, *, fills_after: int | None = None) -> Progress:
    """Where the signal stands.

    ``fills_after`` (a ``Fill`` id taken before the signal, see ``last_fill_id``) makes
    it the cheap poll: fills counted by id instead of through orders and decisions, and
    the exchange's orders not counted (``orders`` is then -1). With 1,000 keys the
    exact queries cost ~20 ms of the database and ~5 ms of this process per poll,
    which a watcher polling every 0.1 s takes from the workers it measures. One
    signal per run, so both counts agree."""
    from django.db.models import Count

    from paper.models import PaperOrder
    from trading.models import Decision, Fill

    if fills_after is None:
        orders = PaperOrder.objects.filter(account__api_key__in=api_keys).count()
        fills = Fill.objects.filter(order__decision__signal_id=signal_id).count()
    else:
        orders, fills = -1, Fill.objects.filter(pk__gt=fills_after).count()
    outcomes = dict(
        Decision.objects.filter(signal_id=signal_id)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    decided = sum(n for outcome, n in outcomes.items() if outcome != "pending")
    return Progress(orders, fills, decided, outcomes)


def last_fill_id() -> int:
    """The newest stored fill's id (0 if none): fills after it are the next signal's."""
    from django.db.models import Max

    from trading.models import Fill

    return Fill.objects.aggregate(last=Max("pk"))["last"] or 0


def paper_usage(api_keys: list[str]) -> tuple[int, int]:
    """(requests, weight) the paper exchange counted for these accounts."""
    from django.db.models import Sum

    from paper.models import PaperAccount

    totals = PaperAccount.objects.filter(api_key__in=api_keys).aggregate(
        requests=Sum("requests"), weight=Sum("weight")
    )
    return totals["requests"] or 0, totals["weight"] or 0


def order_delays(api_keys: list[str], since: datetime) -> list[float]:
    """Seconds from ``since`` to each order's placement, as the exchange stamped it."""
    from paper.models import PaperOrder

    stamps = PaperOrder.objects.filter(account__api_key__in=api_keys).values_list(
        "created_at", flat=True
    )
    return sorted((stamp - since).total_seconds() for stamp in stamps)
