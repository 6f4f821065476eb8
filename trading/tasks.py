"""Queue tasks of trading: ids in, one service call each."""

from __future__ import annotations

import time

from trading.execution import execute
from trading.models import RateWindow
from trading.snapshots import balances_refresh, snapshots_prune, snapshots_take
from trading.sweeper import sweep
from trading.watch import check_account
from vault.models import ExchangeCredential


def execute_signal(bot_id: str, signal_id: str) -> str:
    return execute(bot_id, signal_id).outcome


def sweep_unfinished() -> dict[str, int]:
    return sweep()


def watch_activity() -> dict[str, str]:
    accounts = ExchangeCredential.objects.filter(
        status=ExchangeCredential.Status.ACTIVE, bots__isnull=False
    ).distinct()
    return {str(c.pk): check_account(c) for c in accounts}


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
