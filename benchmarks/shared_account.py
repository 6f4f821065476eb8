"""Many bots on ONE exchange account: every order placed, the account's limits never broken.

Run: ``.venv/bin/python benchmarks/shared_account.py [--bots 200] [--latency-ms 50]``
(quick: ``--bots 50``; PostgreSQL + Redis: with ``DATABASE_URL`` / ``REDIS_URL``
set, on a throwaway ``oneclick_bench`` database).

One signal, ``--bots`` bots of one user on one paper account, driven like
``fanout.py`` (signal, ``fan_out``, real ``qcluster`` workers). The paper
exchange enforces Binance's limits on the account (50 new orders per 10 s,
6,000 request weight per minute) and counts every request it refuses with a
429: the limit violations, which must be 0. The physical floor is the order
limit: N orders at 50 per 10 s take (N / 50 - 1) x 10 s at the very least from
the first order (200 orders: 30 s), and the issue's own yardstick, N / 50 x 10 s
(40 s), is printed beside it with the ratio to each. Per-order signal -> order
prints median / p95 / max, and the time per window shows how much of the order
limit the platform used.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import common

ORDERS_PER_10S = 50


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="per paper request")
    parser.add_argument("--workers", type=int, help="Q_WORKERS per cluster (default: settings)")
    parser.add_argument("--clusters", type=int, default=1, help="qcluster processes")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait at most")
    parser.add_argument("--database", default="oneclick_bench", help="PostgreSQL only")
    return parser.parse_args()


def main() -> None:
    args = parse()
    os.environ["PAPER_LATENCY_MS"] = str(args.latency_ms)
    os.environ["PAPER_ORDER_LIMIT_PER_10S"] = str(ORDERS_PER_10S)
    if args.workers:
        os.environ["Q_WORKERS"] = str(args.workers)
    label = common.use_throwaway_database(args.database)
    common.setup_django(migrate=True)
    import world
    from django.conf import settings

    from paper.models import PaperAccount, PaperOrder

    print(f"shared_account: {args.bots} bots on ONE paper account, one signal, {label}")
    print(f"machine: {common.machine()}")
    print(
        f"platform: {args.clusters} qcluster x {settings.Q_CLUSTER['workers']} workers; paper "
        f"latency {args.latency_ms:g} ms; account limit {ORDERS_PER_10S} orders / 10 s"
    )
    built = world.build_world(bots=args.bots, accounts=1, prefix="shared")
    (key,) = built.api_keys

    log_dir = Path(tempfile.mkdtemp(prefix="oneclick-bench-logs-"))
    world.purge_queue()
    cluster = world.Cluster(args.clusters, log_dir)
    done = False
    try:
        cluster.wait_ready()
        signal_id, signal_at = world.emit_signal(built.strategy_id)
        deadline = time.time() + args.timeout
        last_report = time.time()
        while time.time() < deadline:
            state = world.progress(built.api_keys, signal_id)
            if state.decided >= args.bots and state.fills >= state.orders:
                done = True
                break
            if time.time() - last_report >= 10:
                print(f"  ... {state.orders} orders, {state.decided} decided", flush=True)
                last_report = time.time()
            time.sleep(0.2)
    finally:
        cluster.stop()

    account = PaperAccount.objects.get(api_key=key)
    final = world.progress(built.api_keys, signal_id)
    delays = world.order_delays(built.api_keys, signal_at)
    stamps = sorted(PaperOrder.objects.filter(account=account).values_list("created_at", flat=True))
    windows = Counter(math.floor(stamp.timestamp() / 10) for stamp in stamps)
    busiest = max(windows.values(), default=0)
    last_order = max(delays) if delays else float("nan")
    placed = len(stamps)
    first_to_last = (stamps[-1] - stamps[0]).total_seconds() if placed > 1 else 0.0
    # From the first order: the windows it needs beyond its own, at full use.
    floor_strict = max(0, math.ceil(placed / ORDERS_PER_10S) - 1) * 10
    floor_issue = placed / ORDERS_PER_10S * 10

    print(
        f"signal -> last order placed: {last_order:.1f} s ({placed}/{args.bots} orders)"
        + ("" if done else f"  [stopped after {args.timeout:g} s]")
    )
    print(f"per-bot signal -> order: {common.spread(delays, unit=1, suffix='s')}")
    print(f"decisions: {dict(sorted(final.outcomes.items()))}")
    print(
        f"limit violations (429s the exchange sent): {account.throttled}   "
        f"busiest 10 s window: {busiest}/{ORDERS_PER_10S} orders"
    )
    print(
        f"first -> last order: {first_to_last:.1f} s vs floor {floor_strict} s "
        f"(ratio {first_to_last / floor_strict if floor_strict else float('nan'):.2f}); "
        f"signal -> last order vs N/50 x 10 s = {floor_issue:.0f} s: "
        f"ratio {last_order / floor_issue if floor_issue else float('nan'):.2f}"
    )
    if placed:
        share = placed / (len(windows) * ORDERS_PER_10S)
        print(f"order limit used over the windows with orders: {share:.0%}")
        print(
            f"exchange requests per order: {account.requests / placed:.1f}, "
            f"weight per order: {account.weight / placed:.1f}"
        )
    if account.throttled or not done:
        print(f"worker logs: {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    if account.throttled:
        raise SystemExit("the account's limits were broken")


if __name__ == "__main__":
    main()
