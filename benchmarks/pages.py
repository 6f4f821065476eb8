"""Page speed with a heavy account: 20 bots and 100,000 fills.

Run: ``.venv/bin/python benchmarks/pages.py [--fills 100000] [--runs 40]``
(set ``DATABASE_URL`` to measure on PostgreSQL; a throw-away test database is
created and dropped either way).

Times the dashboard, the history page (first and a deep page, filtered by bot)
and the CSV export against a trivial signed-in page in the same run, through
Django's test client (the whole middleware stack, templates included; no
network). The export streams: its figure is the time to the first 1,000 rows
(what a user waits before the download starts); the full download is reported
apart, in rows per second. Target: p95 of each page at most 5 times the trivial page's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")
    django.setup()


def seed(fills: int) -> object:
    from django.db import connection
    from django.utils import timezone

    from accounts.tests.factories import UserFactory
    from strategies.tests.factories import SignalFactory, StrategyFactory
    from trading.models import Decision, EquitySnapshot, Fill, Order
    from trading.snapshots import slot_of
    from trading.tests.factories import BotFactory, OrderFactory
    from vault.tests.factories import CredentialFactory

    user = UserFactory()
    credential = CredentialFactory(owner=user)
    strategy = StrategyFactory(markets=["BTC/USDT", "ETH/USDT"])
    bots = [BotFactory(owner=user, credential=credential, strategy=strategy) for _ in range(20)]
    now = timezone.now()
    per_order = 10
    spacing = 365 * 86400 // fills  # a year of trading
    orders = Order.objects.bulk_create(
        (
            OrderFactory.build(
                bot=bots[i % 20], credential=credential, side="buy" if i % 2 else "sell"
            )
            for i in range(fills // per_order)
        ),
        batch_size=2000,
    )
    Fill.objects.bulk_create(
        (
            Fill(
                order=orders[i // per_order],
                bot=orders[i // per_order].bot,
                credential=credential,
                trade_id=f"b-{i}",
                amount=Decimal("0.001"),
                price=Decimal("60000.5"),
                fee=Decimal("0.06"),
                fee_currency="USDT",
                taken_at=now - timedelta(seconds=(fills - i) * spacing),
            )
            for i in range(fills)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        # auto_now_add stamped every order "now": date them by their first fill.
        cursor.execute(
            "UPDATE trading_order SET created_at = (SELECT MIN(f.taken_at) FROM trading_fill f"
            " WHERE f.order_id = trading_order.id)"
        )
    for bot in bots:
        signals = [SignalFactory(strategy=strategy, market="BTC/USDT") for _ in range(2)]
        Decision.objects.bulk_create(
            Decision(bot=bot, signal=s, outcome="ignored") for s in signals
        )
    # 90 days of hourly snapshots for each bot: what the charts read.
    start = slot_of(now - timedelta(days=90))
    EquitySnapshot.objects.bulk_create(
        (
            EquitySnapshot(
                bot=bot,
                taken_at=start + timedelta(hours=h),
                equity=Decimal(1000 + h % 50),
                cash=Decimal(500),
            )
            for bot in bots
            for h in range(90 * 24)
        ),
        batch_size=5000,
    )
    return user, bots


def timed_round_robin(pages: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Each page once per round, ``runs`` rounds: on a shared machine a burst of load
    then slows every page alike instead of whichever page was being timed."""
    for call in pages.values():
        call()  # warm caches (templates, query plans, the dashboard's cards)
    out: dict[str, list[float]] = {label: [] for label in pages}
    for _ in range(runs):
        for label, call in pages.items():
            started = time.perf_counter()
            call()
            out[label].append((time.perf_counter() - started) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--server-side-binding",
        action="store_true",
        help="PostgreSQL: psycopg's server-side parameters, queries prepared from their"
        " first run (OPTIONS server_side_binding, prepare_threshold=1); an experiment,"
        " not the application's setting",
    )
    args = parser.parse_args()
    if args.server_side_binding:
        connection.settings_dict["OPTIONS"].update(server_side_binding=True, prepare_threshold=1)

    from django.conf import settings

    setup_test_environment()
    # As the tests do: the manifest storage needs `collectstatic` first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        user, bots = seed(args.fills)
        with connection.cursor() as cursor:
            # Fresh statistics, as autovacuum (PostgreSQL) or a maintenance job would keep;
            # on PostgreSQL also the dead rows of the seed's UPDATE of every order removed,
            # as autovacuum would within a minute (10,000 dead index entries made the
            # dashboard's recent orders recheck every order: 6 ms).
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        print(
            f"{connection.vendor}: seeded 20 bots, {args.fills:,} fills in {time.perf_counter() - started:.0f} s"
        )
        client = Client()
        client.force_login(user)

        def get(url: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")
                return response

            return call

        def export_first_rows() -> None:
            # Until the header and 1,000 rows have arrived (the response sends blocks of rows).
            response = client.get("/bots/history/fills.csv")
            lines = 0
            for chunk in response.streaming_content:
                lines += bytes(chunk).count(b"\n")
                if lines >= 1001:
                    break
            else:
                raise RuntimeError("the export ended before 1,000 rows")
            response.close()

        pages = {
            "trivial (IP whitelist page)": get("/account/ip-whitelist/"),
            "dashboard": get("/dashboard/"),
            "history, page 1": get("/bots/history/"),
            "history, one bot, page 20": get(f"/bots/history/?bot={bots[3].pk}&page=20"),
            "history, orders": get("/bots/history/?kind=orders"),
            "bot page": get(f"/bots/{bots[0].pk}/"),
            "export, first 1,000 rows": export_first_rows,
        }
        results = timed_round_robin(pages, args.runs)
        base = p95(results["trivial (IP whitelist page)"])
        print(f"{'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'p95 / trivial':>14}")
        for label, values in results.items():
            print(
                f"{label:<28} {statistics.median(values):>8.1f} {p95(values):>8.1f} {p95(values) / base:>13.1f}x"
            )

        started = time.perf_counter()
        rows = (
            sum(
                bytes(chunk).count(b"\n")
                for chunk in client.get("/bots/history/fills.csv").streaming_content
            )
            - 1
        )
        seconds = time.perf_counter() - started
        print(f"full export: {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
