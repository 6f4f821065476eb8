"""What the paper-exchange benchmarks share: a throwaway database, Django set-up,
funded paper accounts, a multi-process order sender, and the figures printed.

Never the dev database: with ``DATABASE_URL`` set the benchmarks drop and
recreate a database named ``oneclick_bench`` on that server (``--database``
to change it); without, they run on SQLite in a temporary directory (which is
also their ``ONECLICK_VAR_DIR``, so no file of the dev setup is touched).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import multiprocessing
import multiprocessing.process
import multiprocessing.queues
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET = "bench-secret-not-a-real-one"  # noqa: S105 - throwaway paper accounts


# --- the database -----------------------------------------------------------------------
def use_throwaway_database(name: str = "oneclick_bench") -> str:
    """Point this process (and its children) at a fresh database; returns a label.

    Must run before Django is set up.
    """
    url = os.environ.get("DATABASE_URL", "")
    if url:
        server, _ = url.rsplit("/", 1)
        _recreate_postgres_database(server, name)
        os.environ["DATABASE_URL"] = f"{server}/{name}"
        os.environ.setdefault("SECURE_HTTPS", "false")
        return f"PostgreSQL ({name}) + Redis"
    var_dir = tempfile.mkdtemp(prefix="oneclick-bench-")
    # Only the process that made it removes it (forked senders exit through os._exit).
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    os.environ["ONECLICK_VAR_DIR"] = var_dir
    os.environ["SQLITE_PATH"] = str(Path(var_dir) / "bench.sqlite3")
    return f"SQLite ({var_dir})"


def _recreate_postgres_database(server: str, name: str) -> None:
    import psycopg

    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing database name {name!r}")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def setup_django(*, migrate: bool) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")
    import django

    django.setup()
    logging.getLogger("django-q").setLevel(logging.WARNING)  # no line per queued task
    if migrate:
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if "channels" in settings.DATABASES:  # the live pages' channel layer (SQLite setup)
            call_command("migrate", database="channels", verbosity=0)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}, "
        f"load average {load}"
    )


# --- paper accounts -------------------------------------------------------------------------
def fund_accounts(keys: Sequence[str], balances: dict[str, str] | None = None) -> None:
    """Open and fund paper accounts in bulk (what their first call would do)."""
    from decimal import Decimal

    from paper.keys import hash_secret
    from paper.models import PaperAccount, PaperBalance

    balances = balances or {"USDT": "10000", "USDC": "10000"}
    accounts = PaperAccount.objects.bulk_create(
        PaperAccount(api_key=key, secret_sha256=hash_secret(BENCH_SECRET), funded=True)
        for key in keys
    )
    accounts = list(PaperAccount.objects.filter(api_key__in=list(keys)))
    PaperBalance.objects.bulk_create(
        (
            PaperBalance(account=account, asset=asset, free=Decimal(amount))
            for account in accounts
            for asset, amount in balances.items()
        ),
        batch_size=2000,
    )


def paper_config(**overrides: Any) -> Any:
    """PaperConfig from settings; overrides this version of the engine does not know
    are dropped, so the same script measures an older checkout ("before")."""
    import dataclasses

    from paper.config import PaperConfig

    known = {f.name for f in dataclasses.fields(PaperConfig)}
    return PaperConfig.from_settings(**{k: v for k, v in overrides.items() if k in known})


# --- sending orders from several processes ----------------------------------------------------
@dataclass
class SendResult:
    latencies: list[float] = field(default_factory=list)  # seconds per order request
    errors: list[str] = field(default_factory=list)
    first_start: float = math.inf
    last_end: float = 0.0

    def merge(self, other: SendResult) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.first_start = min(self.first_start, other.first_start)
        self.last_end = max(self.last_end, other.last_end)

    @property
    def wall(self) -> float:
        return self.last_end - self.first_start


def _send_share(
    job: Callable[[str], None], keys: list[str], threads: int, start_at: float, queue: Any
) -> None:
    from django.db import connection

    result = SendResult()
    lock = threading.Lock()
    pending = list(reversed(keys))

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    break
                key = pending.pop()
            started = time.time()
            try:
                job(key)
            except Exception as error:
                with lock:
                    result.errors.append(f"{type(error).__name__}: {error}")
            ended = time.time()
            with lock:
                result.latencies.append(ended - started)
                result.first_start = min(result.first_start, started)
                result.last_end = max(result.last_end, ended)
        connection.close()

    time.sleep(max(0.0, start_at - time.time()))
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    queue.put(result)


def send_in_processes(
    job: Callable[[str], None], keys: Sequence[str], *, processes: int, threads: int
) -> SendResult:
    """Run ``job(key)`` once per key, spread over forked processes x threads each."""
    from django.db import connections

    connections.close_all()  # never share a connection with a forked child
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 0.5
    shares = [list(keys[i::processes]) for i in range(processes)]
    children = [
        context.Process(target=_send_share, args=(job, share, threads, start_at, queue))
        for share in shares
        if share
    ]
    return _gather(children, queue)


def _gather(
    children: Sequence[multiprocessing.process.BaseProcess],
    queue: multiprocessing.queues.Queue[Any],
) -> SendResult:
    """Start the sending processes and add up what each puts on ``queue``."""
    for child in children:
        child.start()
    total = SendResult()
    for _ in children:
        total.merge(queue.get(timeout=600))
    for child in children:
        child.join(timeout=60)
    return total


def _send_share_async(
    job: Callable[[str], Awaitable[None]],
    keys: list[str],
    concurrency: int,
    threads: int,
    start_at: float,
    queue: Any,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    result = SendResult()

    async def one(key: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            started = time.time()
            try:
                await job(key)
            except Exception as error:
                result.errors.append(f"{type(error).__name__}: {error}")
            ended = time.time()
            result.latencies.append(ended - started)
            result.first_start = min(result.first_start, started)
            result.last_end = max(result.last_end, ended)

    async def run() -> None:
        # The database work runs on this many threads (connections); the waits
        # of every request in flight overlap on the event loop.
        pool = ThreadPoolExecutor(max_workers=threads)
        asyncio.get_running_loop().set_default_executor(pool)
        # Warm, like a long-running worker: every thread connected before the clock.
        warm = threading.Barrier(threads)

        def connect() -> None:
            connection.ensure_connection()
            warm.wait(timeout=60)

        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(None, connect) for _ in range(threads)))
        await asyncio.sleep(max(0.0, start_at - time.time()))
        gate = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(one(key, gate) for key in keys))

    asyncio.run(run())
    queue.put(result)


def send_async_in_processes(
    job: Callable[[str], Awaitable[None]],
    keys: Sequence[str],
    *,
    processes: int,
    concurrency: int,
    threads: int = 8,
) -> SendResult:
    """Await ``job(key)`` once per key: an event loop per forked process, at most
    ``concurrency`` requests in flight each, database work on ``threads`` threads
    (so a thousand requests in flight need only a few database connections)."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 3  # every process connected by then
    shares = [list(keys[i::processes]) for i in range(processes)]
    children = [
        context.Process(
            target=_send_share_async, args=(job, share, concurrency, threads, start_at, queue)
        )
        for share in shares
        if share
    ]
    return _gather(children, queue)


# --- figures -----------------------------------------------------------------------------------
def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def spread(values: Sequence[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    """median / p95 / max of ``values`` (seconds) in ``suffix``."""
    if not values:
        return "no values"
    return (
        f"median {statistics.median(values) * unit:.1f} {suffix} / "
        f"p95 {percentile(values, 0.95) * unit:.1f} {suffix} / max {max(values) * unit:.1f} {suffix}"
    )
