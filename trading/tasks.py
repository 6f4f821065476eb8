"""Queue tasks of trading: ids in, one service call each."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django_q.tasks import async_task

from trading.execution import execute
from trading.fanout import execute_batch as run_batch
from trading.models import Bot, RateWindow
from trading.orders import accounts_due_balances
from trading.orders import refresh_balances as refresh_account_balances
from trading.services import bot_wind_down
from trading.snapshots import snapshots_prune, snapshots_take
from trading.sweeper import sweep
from trading.watch import check_account
from vault.models import ExchangeCredential

logger = logging.getLogger(__name__)


def execute_signal(bot_id: str, signal_id: str) -> str:
    return execute(bot_id, signal_id).outcome


def wind_down_bot(bot_id: str, sell_positions: bool) -> list[str]:
    """Queued by bot_stop: cancel the stopped bot's open orders, sell if asked."""
    bot = Bot.objects.select_related("owner", "credential").get(pk=bot_id)
    return bot_wind_down(bot=bot, sell_positions=sell_positions)


def sweep_unfinished() -> dict[str, int]:
    return sweep()


def watch_activity() -> int:
    """Scheduled: one check task per active account with a bot, so one slow exchange
    never holds the others past the task timeout (as vault's re-check does)."""
    ids = list(
        ExchangeCredential.objects.filter(
            status=ExchangeCredential.Status.ACTIVE, bots__isnull=False
        )
        .distinct()
        .values_list("pk", flat=True)
    )
    for pk in ids:
        async_task("trading.tasks.watch_account", str(pk))
    return len(ids)


def watch_account(credential_id: str) -> str:
    credential = ExchangeCredential.objects.filter(
        pk=credential_id, status=ExchangeCredential.Status.ACTIVE
    ).first()
    if credential is None:  # disabled or deleted since it was queued
        return "skipped"
    return check_account(credential)


def prune_rate_windows() -> int:
    # Windows are at most a day long; older rows are dead weight.
    return RateWindow.objects.filter(
        window_start__lt=time.time() - 2 * 86400, window_start__gt=0
    ).delete()[0]


def take_equity_snapshots() -> int:
    return snapshots_take()


def prune_equity_snapshots() -> int:
    return snapshots_prune()


def execute_batch(signal_id: str, bot_ids: list[str]) -> dict[str, int]:
    return run_batch(signal_id, bot_ids)


def refresh_account(credential_id: str) -> str:
    """Queued when a key is linked or re-enabled: its balances show within seconds
    instead of at the next scheduled read."""
    credential = ExchangeCredential.objects.filter(
        pk=credential_id, status=ExchangeCredential.Status.ACTIVE
    ).first()
    if credential is None:  # disabled or deleted since it was queued
        return "skipped"
    try:
        refresh_account_balances(credential)
    except Exception:  # an early read only: the scheduled read tries again
        # Run inline (a sync cluster) it would otherwise fail the link that queued it.
        logger.warning("Balances of account %s not read yet", credential.pk, exc_info=True)
        return "failed"
    return "read"


# Held by the scheduled balances read while it runs (at most a task's lifetime).
BALANCES_READ_LOCK = "trading:balances-read"


def refresh_balances() -> int:
    """Scheduled every minute, so a trade shows in the balances within about a minute.
    A run over many accounts may outlast the minute: the next one then skips rather
    than read the same accounts (and spend the exchange's weight) twice."""
    if not cache.add(BALANCES_READ_LOCK, "running", settings.Q_CLUSTER["timeout"]):
        return 0
    done = 0
    try:
        for credential in accounts_due_balances():
            try:
                refresh_account_balances(credential)
                done += 1
            except Exception:  # one account's outage never stops the others'
                logger.warning("Balances of account %s not refreshed", credential.pk, exc_info=True)
    finally:
        cache.delete(BALANCES_READ_LOCK)
    return done
