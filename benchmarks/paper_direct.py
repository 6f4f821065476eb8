"""Orders per second straight to the paper exchange, no platform in between.

Run: ``.venv/bin/python benchmarks/paper_direct.py [--orders 2000] [--latency-ms 0]``
(PostgreSQL + Redis: the same with ``DATABASE_URL``/``REDIS_URL`` set; it uses a
throwaway ``oneclick_bench`` database, SQLite a temporary file).

One market order per paper account (as N bots on N accounts), sent by
``--processes`` processes x ``--threads`` threads. Prints throughput and the
median / p95 / max time per order request, and the ratio against a baseline
measured in the same run: the database's own floor, one transaction writing one
locked row per order with the same concurrency and latency.
"""

from __future__ import annotations

import argparse
import os
import time

import common


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=8, help="threads per process")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="per request")
    parser.add_argument("--database", default="oneclick_bench", help="PostgreSQL only")
    return parser.parse_args()


def baseline_job(latency_ms: float):
    def job(key: str) -> None:
        from django.db import transaction

        from paper.models import PaperAccount

        if latency_ms:
            time.sleep(latency_ms / 1000)
        with transaction.atomic():
            PaperAccount.objects.filter(api_key=key).update(funded=True)

    return job


def paper_job(latency_ms: float):
    def job(key: str) -> None:
        from paper.exchange import PaperExchange

        config = common.paper_config(rate_limit_per_minute=None, latency_ms=latency_ms)
        exchange = PaperExchange(apiKey=key, secret=common.BENCH_SECRET, config=config)
        exchange.create_order(
            "BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": f"direct-{key[-20:]}"}
        )

    return job


def async_paper_job(latency_ms: float):
    async def job(key: str) -> None:
        from paper.async_support import AsyncPaperExchange

        config = common.paper_config(rate_limit_per_minute=None, latency_ms=latency_ms)
        exchange = AsyncPaperExchange(apiKey=key, secret=common.BENCH_SECRET, config=config)
        await exchange.create_order(
            "BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": f"direct-{key[-20:]}"}
        )

    return job


def run_direct(
    keys: list[str], *, processes: int, concurrency: int, latency_ms: float
) -> common.SendResult:
    """One order per key straight to the paper exchange, ``concurrency`` in flight per
    process on asyncio (few database connections); the fanout baseline."""
    return common.send_async_in_processes(
        async_paper_job(latency_ms), keys, processes=processes, concurrency=concurrency
    )


def main() -> None:
    args = parse()
    label = common.use_throwaway_database(args.database)
    common.setup_django(migrate=True)
    from paper.models import PaperOrder, PaperTrade

    keys = [f"bench-direct-{i:06d}" for i in range(args.orders)]
    common.fund_accounts(keys)
    print(f"paper_direct: {args.orders} orders on {args.orders} accounts, {label}")
    print(f"machine: {common.machine()}")
    print(
        f"senders: {args.processes} processes x {args.threads} threads, "
        f"latency {args.latency_ms:g} ms per request"
    )

    floor = common.send_in_processes(
        baseline_job(args.latency_ms), keys, processes=args.processes, threads=args.threads
    )
    paper = common.send_in_processes(
        paper_job(args.latency_ms), keys, processes=args.processes, threads=args.threads
    )
    placed, fills = PaperOrder.objects.count(), PaperTrade.objects.count()
    floor_rate, paper_rate = args.orders / floor.wall, args.orders / paper.wall

    print(
        f"baseline (1 locked row write per order): {floor_rate:8.0f} /s   {common.spread(floor.latencies)}"
    )
    print(
        f"paper exchange create_order:             {paper_rate:8.0f} /s   {common.spread(paper.latencies)}"
    )
    print(f"ratio paper / baseline throughput: {paper_rate / floor_rate:.2f}")
    print(f"orders placed {placed}, fills {fills}, errors {len(paper.errors)}")
    for error in sorted(set(paper.errors))[:5]:
        print(f"  error: {error}")
    if placed != args.orders or paper.errors:
        raise SystemExit("not every order was placed")


if __name__ == "__main__":
    main()
