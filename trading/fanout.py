"""A signal to every bot that follows its strategy: batches of bots per task. Ids only.

``fan_out`` queues one task per batch of ``FANOUT_BATCH_SIZE`` bots, all pushed
on one broker connection (django-q2 otherwise opens one per task). Each batch
executes its bots on ``EXECUTION_THREADS`` threads, so their exchange waits
overlap, and records the strategy feedback of all its fills at once. Every
exactly-once and allocation guarantee is per bot and per order (row locks,
compare-and-set, leases), so it holds across threads as across processes; a
batch that dies is finished by the sweeper like a lost task.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

from strategies.models import Signal
from trading.batch import BatchResult, execute_bots
from trading.execution import execute
from trading.models import Bot, Decision
from trading.sync import feedback_deferred, record_reports

logger = logging.getLogger(__name__)
FINAL = {Decision.Outcome.EXECUTED, Decision.Outcome.IGNORED, Decision.Outcome.FAILED}
MAX_ROUNDS = 100  # bounded: a batch re-tries its deferred bots at most this often
MIN_PAUSE = 0.2  # between rounds, so an order another worker holds is not polled hot


def fan_out(signal_ids: list[str]) -> int:
    """Queue the execution of each signal for its strategy's active bots; bots queued."""
    queued = 0
    size = max(1, settings.FANOUT_BATCH_SIZE)
    broker = get_broker()
    signals = Signal.objects.filter(pk__in=signal_ids).values_list("pk", "strategy_id", "market")
    for signal_id, strategy_id, market in signals:
        # A bot follows its strategy in the markets it chose: a signal of another
        # market is not for it (the bot's own whitelist check still refuses one that
        # reaches it some other way). Filtered here, not in SQL: JSON containment
        # differs between SQLite and PostgreSQL.
        bot_ids = [
            str(pk)
            for pk, markets in Bot.objects.filter(
                strategy_id=strategy_id, status=Bot.Status.ACTIVE
            ).values_list("pk", "markets")
            if market in markets
        ]
        for start in range(0, len(bot_ids), size):
            batch = bot_ids[start : start + size]
            async_task("trading.tasks.execute_batch", str(signal_id), batch, broker=broker)
            queued += len(batch)
    return queued


def execute_batch(signal_id: str, bot_ids: list[str]) -> dict[str, int]:
    """Execute one signal for many bots on a bounded pool of threads; outcomes counted.

    Bots the exchange's limits deferred (a decision or order with a
    ``next_attempt_at``) are tried again at that time by this task, while it is
    within ``BATCH_RETRY_SECONDS``; later ones are left to the sweeper.
    """
    deadline = time.time() + settings.BATCH_RETRY_SECONDS
    outcomes: dict[str, str] = {}
    bot_ids = _bot_ids(signal_id, bot_ids)
    try:
        fast = execute_bots(signal_id, list(bot_ids))
    except Exception:  # the per-bot path owns every rule: it takes the batch over
        logger.exception("Bulk execution of signal %s failed; bot by bot", signal_id)
        fast = BatchResult(leftover=list(bot_ids))
    outcomes.update(fast.outcomes)
    record_later(fast.reports)
    todo = fast.leftover
    for _ in range(MAX_ROUNDS):
        if todo:
            results = _run(signal_id, todo)
            outcomes.update(
                (bot_id, outcome) for bot_id, (outcome, _) in zip(todo, results, strict=True)
            )
            record_later([report for _, found in results for report in found])
        if all(outcomes.get(bot_id) in FINAL for bot_id in bot_ids):
            break  # every bot decided: none waits for a set time (no query for it)
        due = _deferred_until(signal_id, list(bot_ids))
        if not due or min(due.values()) > deadline:
            break
        time.sleep(max(MIN_PAUSE, min(due.values()) - time.time()))
        todo = sorted(due, key=due.__getitem__)
    return dict(Counter(outcomes.values()))


def _bot_ids(signal_id: str, bot_ids: list[str]) -> list[str]:
    """The arguments that are bot ids (the fan-out writes only those; a task edited in
    the broker must not fail on a query after its orders went out)."""
    valid = []
    for bot_id in bot_ids:
        try:
            valid.append(str(uuid.UUID(str(bot_id))))
        except ValueError:
            logger.warning("Batch of signal %s: %r is not a bot id", signal_id, str(bot_id)[:40])
    return valid


_feedback: ThreadPoolExecutor | None = None
_feedback_lock = threading.Lock()


def record_later(reports: list[dict[str, Any]]) -> None:
    """Strategy feedback of a batch's fills, off the batch's path: on this process's one
    feedback thread, so the worker takes its next batch while the fills are reported.

    Feedback never undoes or delays a trade (``record_reports``) and a fill reported
    twice counts once (by its trade id), so it needs no ordering with the orders. The
    thread is joined when the process exits normally (a worker's recycle included);
    one killed before loses its last reports, as one killed before reporting did.
    Inline when tasks run inline (tests).
    """
    global _feedback
    if not reports:
        return
    if Conf.SYNC:
        record_reports(reports)
        return
    with _feedback_lock:
        if _feedback is None:
            _feedback = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback")
    _feedback.submit(_record_on_thread, reports)


def _record_on_thread(reports: list[dict[str, Any]]) -> None:
    try:
        close_old_connections()  # its own connection, kept for CONN_MAX_AGE like the senders'
        record_reports(reports)
    except Exception:  # a future's exception is never read: logged here
        logger.warning("Could not report %d fills to the strategy", len(reports), exc_info=True)


def _run(signal_id: str, bot_ids: list[str]) -> list[tuple[str, list[dict[str, Any]]]]:
    threads = max(1, min(settings.EXECUTION_THREADS, len(bot_ids)))
    if threads == 1 or Conf.SYNC:  # inline (tests, a single thread): this thread's connection
        return [_execute_one(bot_id, signal_id, own_connection=False) for bot_id in bot_ids]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="execute") as pool:
        return list(pool.map(lambda bot_id: _execute_one(bot_id, signal_id), bot_ids))


def _deferred_until(signal_id: str, bot_ids: list[str]) -> dict[str, float]:
    """Bots of the batch whose decision waits for a set time: when (epoch seconds)."""
    waiting = Decision.objects.filter(
        signal_id=signal_id, bot_id__in=bot_ids, outcome=Decision.Outcome.PENDING
    ).values_list("bot_id", "next_attempt_at", "order__next_attempt_at")
    due = {}
    for bot_id, decision_at, order_at in waiting:
        when = order_at or decision_at
        if when is not None:
            due[str(bot_id)] = when.timestamp()
    return due


def _execute_one(
    bot_id: str, signal_id: str, *, own_connection: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    if own_connection:
        close_old_connections()
    try:
        with feedback_deferred() as reports:
            try:
                outcome = execute(bot_id, signal_id).outcome
            except Exception:  # one bot's failure never stops the batch; the sweeper retries
                logger.exception("Execution of signal %s for bot %s failed", signal_id, bot_id)
                outcome = "error"
        return outcome, reports
    finally:
        if own_connection:  # each pool thread has its own: closed, or the server runs out
            connections.close_all()
