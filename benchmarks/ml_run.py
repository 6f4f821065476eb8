"""How long the ML strategy's scheduled run takes for 1, 3 and 6 markets.

Run: ``.venv/bin/python benchmarks/ml_run.py [--runs 5] [--markets 1,3,6]``
(with ``DATABASE_URL``/``REDIS_URL`` set it runs on PostgreSQL, else SQLite).

A throw-away test database is created (and dropped after), with the paper
exchange at a fixed manual clock as the market-data source, so the figures
need no network. For each market count, a machine-learned strategy
(``ml_direction`` with its default parameters: 1,000 training candles, refit
every 42) and a trend-following strategy (the baseline, measured in the same
run on the same markets and periods) each do:

- ``cold``: the first run, with no candle stored and no model fitted (it fetches
  the training window from the paper exchange and fits: in production the
  refit task queued when the strategy is switched on does this ahead);
- ``steady``: the runs of the following periods, one new 4 h candle each, as
  the schedule makes them; the median, p95 and max of ``--runs`` periods,
  which include the refit when a refit time falls among them (``--runs`` ≥ 42
  always includes one).

Printed: seconds per run and the ratio ML / trend for the steady runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
# Five minutes into a period, as the schedule runs, three periods before the ML
# model's next refit time (every 42 candles of 4 h = 7 days from the Unix epoch):
# the third steady run is the one that refits.
REFIT_PERIOD = timedelta(hours=4 * 42)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NEXT_REFIT = EPOCH + ((datetime(2025, 3, 10, tzinfo=UTC) - EPOCH) // REFIT_PERIOD + 1) * (
    REFIT_PERIOD
)
START = NEXT_REFIT - timedelta(hours=8) + timedelta(minutes=5)
REFIT_RUN = 3  # index among the runs (0 is the cold one)
MARKETS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDC", "ETH/USDC", "SOL/USDC")


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")
    django.setup()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed_runs(
    kind: str, markets: tuple[str, ...], runs: int, tag: str
) -> tuple[float, list[float]]:
    """(cold seconds, steady seconds per run) for a fresh strategy of ``kind``."""
    from paper.clock import ManualClock
    from paper.config import PaperConfig
    from paper.exchange import PaperExchange
    from strategies.models import Candle, CandleGap, ModelState, StrategyRun
    from strategies.runs import strategy_run
    from strategies.services import strategy_create

    # Cold means cold: no candle of any market stored by an earlier case.
    Candle.objects.all().delete()
    CandleGap.objects.all().delete()
    clock = ManualClock(START)
    paper = PaperExchange(config=PaperConfig(clock=clock))
    strategy = strategy_create(
        slug=f"bench-{kind.replace('_', '-')}-{len(markets)}-{tag}",
        name=f"bench {kind} {len(markets)}",
        kind=kind,
        markets=list(markets),
        exchange_id="paper",
    )
    timings = []
    for step in range(runs + 1):
        now = START + timedelta(hours=4 * step)
        clock.set(now)
        began = time.perf_counter()
        run = strategy_run(strategy=strategy, now=now, client=paper)
        timings.append(time.perf_counter() - began)
        if run.status != StrategyRun.Status.SUCCEEDED:
            raise SystemExit(f"{kind} run {step} did not succeed: {run.errors}")
    fits = ModelState.objects.filter(strategy=strategy).count()
    if kind == "ml_direction" and fits != len(markets) * (1 + (runs >= REFIT_RUN)):
        raise SystemExit(f"expected one fit per market and refit time, found {fits}")
    return timings[0], timings[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="steady runs per case")
    parser.add_argument("--markets", default="1,3,6", help="market counts, comma-separated")
    args = parser.parse_args()
    setup()
    import logging

    from django.db import connection

    logging.getLogger("django-q").setLevel(logging.WARNING)  # the queued first fits
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor}; {args.runs} steady runs per case (4 h candles)")
        print(
            f"{'markets':>7} {'strategy':<16} {'cold s':>7} {'median s':>9} {'p95 s':>7} "
            f"{'max s':>7} {'refit-run s':>12} {'ratio ml/trend':>15}"
        )
        for count in (int(n) for n in args.markets.split(",")):
            markets = MARKETS[:count]
            figures = {}
            for kind in ("trend_following", "ml_direction"):
                cold, steady = timed_runs(kind, markets, args.runs, tag=str(time.time_ns()))
                figures[kind] = statistics.median(steady)
                ratio = ""
                if kind == "ml_direction":
                    ratio = f"{figures[kind] / figures['trend_following']:>15.2f}"
                refit = steady[REFIT_RUN - 1] if len(steady) >= REFIT_RUN else float("nan")
                print(
                    f"{count:>7} {kind:<16} {cold:>7.2f} {figures[kind]:>9.3f} "
                    f"{percentile(steady, 0.95):>7.3f} {max(steady):>7.3f} {refit:>12.3f} {ratio}"
                )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
