"""How fast each strategy backtests five years of 4-hour candles.

Run: ``.venv/bin/python benchmarks/backtest_speed.py [--runs 5] [--years 5]``

The candles are the fixed synthetic market (``strategies.synthetic``), built
once in memory, so the figure is the backtest alone (features, decisions,
walk-forward refits, Decimal accounting, statistics): no database, no
exchange. Prints the median of several runs per strategy, in candles per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")
    django.setup()


def main() -> None:
    setup()
    # Imported once Django is set up: the strategies app loads models.
    from strategies.backtest import Costs, run_backtest
    from strategies.library import REGISTRY, build_model
    from strategies.synthetic import synthetic_series
    from strategies.timeframes import YEAR_SECONDS, seconds_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per strategy (median)")
    parser.add_argument("--years", type=float, default=5.0)
    args = parser.parse_args()

    candles = int(args.years * YEAR_SECONDS / seconds_of("4h"))
    series = synthetic_series(candles=candles, timeframe="4h", seed=7)
    print(f"{candles} candles of 4h ({args.years:g} years), median of {args.runs} runs")
    print(f"{'strategy':<18} {'seconds':>8} {'candles/s':>11} {'trades':>7} {'return':>9}")
    for kind in REGISTRY:
        timings = []
        for _ in range(args.runs):
            model = build_model(kind)
            started = time.perf_counter()
            result = run_backtest(model, series, capital=Decimal(10_000), costs=Costs())
            timings.append(time.perf_counter() - started)
        median = statistics.median(timings)
        print(
            f"{kind:<18} {median:>8.3f} {candles / median:>11,.0f} {result.stats.trades:>7} "
            f"{float(result.stats.total_return):>+9.1%}"
        )


if __name__ == "__main__":
    main()
