"""Queue tasks of trading: ids in, one service call each."""

from __future__ import annotations

import time

from django_q.tasks import async_task

from trading.execution import execute
from trading.models import Bot, RateWindow
from trading.services import bot_wind_down
from trading.snapshots import balances_refresh, snapshots_prune, snapshots_take
from trading.sweeper import sweep
from trading.watch import check_account
from vault.models import ExchangeCredential


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


def refresh_balances() -> dict[str, bool]:
    # Accounts in use by a bot, plus paper accounts (their balance is on the dashboard).
    accounts = ExchangeCredential.objects.filter(status=ExchangeCredential.Status.ACTIVE)
    return {str(c.pk): balances_refresh(c) for c in accounts}
