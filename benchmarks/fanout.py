"""One signal to N bots, each on its own paper account: how soon is every order placed?

Run: ``.venv/bin/python benchmarks/fanout.py [--bots 1000] [--latency-ms 50]``
(quick: ``--bots 50``; PostgreSQL + Redis: the same with ``DATABASE_URL`` /
``REDIS_URL`` set, on a throwaway ``oneclick_bench`` database).

Through the product's public entry points only: a signed signal is stored,
``trading.fanout.fan_out`` queues the work, real ``manage.py qcluster`` worker
processes (their default worker count unless ``--workers``) execute it, and the
script watches the database. The paper exchange waits ``--latency-ms`` per
request, like a real one.

Prints: signal -> last order placed (stamped by the exchange), signal -> last fill
recorded by the platform, per-bot signal -> order (median / p95 / max), exchange
requests and weight per order (counted by the paper exchange), and the ratio to
the baseline measured in the same run: the same N orders sent straight to the
paper exchange, same latency, one asyncio loop per core with 250 requests in
flight each (a few database connections, so the server is never exhausted).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import common


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="per paper request")
    parser.add_argument("--workers", type=int, help="Q_WORKERS per cluster (default: settings)")
    parser.add_argument("--clusters", type=int, default=1, help="qcluster processes")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait at most")
    parser.add_argument("--baseline-processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--baseline-concurrency", type=int, default=250, help="requests in flight per process"
    )
    parser.add_argument("--database", default="oneclick_bench", help="PostgreSQL only")
    return parser.parse_args()


def main() -> None:
    args = parse()
    # Read by the workers' settings: set before anything starts.
    os.environ["PAPER_LATENCY_MS"] = str(args.latency_ms)
    if args.workers:
        os.environ["Q_WORKERS"] = str(args.workers)
    label = common.use_throwaway_database(args.database)
    common.setup_django(migrate=True)
    import world as world_module
    from django.conf import settings

    print(f"fanout: {args.bots} bots on {args.bots} paper accounts, one signal, {label}")
    print(f"machine: {common.machine()}")
    workers = settings.Q_CLUSTER["workers"]
    print(
        f"platform: {args.clusters} qcluster x {workers} workers; paper latency "
        f"{args.latency_ms:g} ms per request"
    )
    started = time.time()
    world = world_module.build_world(bots=args.bots, accounts=args.bots)
    print(f"set-up: {time.time() - started:.1f} s")

    log_dir = Path(tempfile.mkdtemp(prefix="oneclick-bench-logs-"))
    world_module.purge_queue()
    cluster = world_module.Cluster(args.clusters, log_dir)
    try:
        cluster.wait_ready()
        fill_mark = world_module.last_fill_id()
        signal_id, signal_at = world_module.emit_signal(world.strategy_id)
        fanned_out = time.time()
        last_fill_seen, done = watch(world_module, world, signal_id, fill_mark, args)
    finally:
        cluster.stop()

    final = world_module.progress(world.api_keys, signal_id)
    delays = world_module.order_delays(world.api_keys, signal_at)
    requests, weight = world_module.paper_usage(world.api_keys)
    last_order = max(delays) if delays else float("nan")
    last_fill = (last_fill_seen - signal_at.timestamp()) if last_fill_seen else float("nan")

    keys = [f"paper-direct-{n:06d}" for n in range(args.bots)]
    common.fund_accounts(keys)
    from paper_direct import run_direct

    baseline = run_direct(
        keys,
        processes=args.baseline_processes,
        concurrency=args.baseline_concurrency,
        latency_ms=args.latency_ms,
    )

    print(f"signal -> fan_out returned: {fanned_out - signal_at.timestamp():.2f} s")
    print(
        f"signal -> last order placed: {last_order:.2f} s ({final.orders}/{args.bots} orders)"
        + ("" if done else f"  [stopped after {args.timeout:g} s]")
    )
    print(f"signal -> last fill recorded: {last_fill:.2f} s ({final.fills} fills)")
    print(f"per-bot signal -> order: {common.spread(delays, unit=1, suffix='s')}")
    print(f"decisions: {dict(sorted(final.outcomes.items()))}")
    if final.orders:
        print(
            f"exchange requests per order: {requests / final.orders:.1f}, "
            f"weight per order: {weight / final.orders:.1f} "
            f"(paper exchange's count, Binance weights)"
        )
    print(
        f"baseline: {args.bots} orders straight to the paper exchange "
        f"({args.baseline_processes} processes x {args.baseline_concurrency} in flight, asyncio): "
        f"{baseline.wall:.2f} s; per order {common.spread(baseline.latencies)}"
    )
    if done:
        print(f"ratio last order / baseline: {last_order / baseline.wall:.1f}x")
    else:  # not every order is placed: the ratio is at least this
        print(f"ratio last order / baseline: > {args.timeout / baseline.wall:.1f}x (unfinished)")
    if not done:
        print(f"worker logs: {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)


def watch(
    world_module, world, signal_id: str, fills_after: int, args: argparse.Namespace
) -> tuple[float, bool]:
    """Poll until every bot has its order and fill, every decision is final, or time is up."""
    deadline = time.time() + args.timeout
    last_fill_seen = 0.0
    fills_before = -1
    last_report = time.time()
    while time.time() < deadline:
        now = time.time()
        # The cheap poll, and the exact counts only once every bot is decided (the end
        # test): the watcher's queries compete with the workers for the machine, and
        # order times are the exchange's own stamps, not this loop's.
        state = world_module.progress(world.api_keys, signal_id, fills_after=fills_after)
        if state.fills != fills_before:
            fills_before, last_fill_seen = state.fills, now
        if state.decided >= args.bots:
            state = world_module.progress(world.api_keys, signal_id)
            if state.fills >= state.orders:
                return last_fill_seen, True
        if now - last_report >= 10:
            print(
                f"  ... {now - (deadline - args.timeout):.0f} s: "
                f"{state.fills} fills, {state.decided} decided",
                flush=True,
            )
            last_report = now
        time.sleep(0.1)
    return last_fill_seen, False


if __name__ == "__main__":
    main()
