"""What a bot did with a signal: every change of a decision, each a compare-and-set.

A decision leaves *pending* once; whoever changes the row first wins and is
the only one to tell the owner.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.notifications import notify_user
from trading.events import push_to_user
from trading.models import Bot, Decision

if TYPE_CHECKING:
    from strategies.models import Signal

logger = logging.getLogger(__name__)
Outcome = Decision.Outcome
# A decision's own columns: read back without dropping its cached bot and signal.
_OWN_FIELDS = [
    f.attname for f in Decision._meta.concrete_fields if f.attname not in ("bot_id", "signal_id")
]


def decision_for(bot: Bot, signal: Signal) -> Decision:
    """The one decision of (bot, signal), created if there is none yet."""
    try:
        with transaction.atomic():
            decision, _ = Decision.objects.get_or_create(
                bot=bot, signal=signal, defaults={"message": "Received; being checked."}
            )
    except IntegrityError:  # another worker created it first
        decision = Decision.objects.get(bot=bot, signal=signal)
    return decision


def decide(
    decision: Decision, outcome: str, reason: str, message: str, *, also_from: str = ""
) -> bool:
    """Record the outcome if the decision is still pending (or has ``also_from`` as reason).

    Pushes the change to the owner's open pages; True when this call changed it.
    """
    rows = Decision.objects.filter(pk=decision.pk)
    allowed = rows.filter(outcome=Outcome.PENDING)
    if also_from:
        allowed = allowed | rows.filter(reason=also_from)
    updated = allowed.update(
        outcome=outcome,
        reason=reason,
        message=(message or reason)[:500],
        decided_at=timezone.now(),
        next_attempt_at=None,
    )
    decision.refresh_from_db(fields=_OWN_FIELDS)
    if updated:
        push_to_user(
            decision.bot.owner_id,
            "decision",
            {"bot": str(decision.bot_id), "outcome": outcome, "reason": reason, "message": message},
        )
    return bool(updated)


def ignore(decision: Decision, reason: str, message: str) -> Decision:
    decide(decision, Outcome.IGNORED, reason, message)
    return decision


def fail(decision: Decision, reason: str, message: str, *, next_step: str = "") -> Decision:
    """Record a failure and tell the owner by email (once, by whoever records it)."""
    if decide(decision, Outcome.FAILED, reason, message):
        notify_user(
            user=decision.bot.owner,
            subject=f"Order failed on bot {decision.bot.name}",
            body=f"{message}\n\n"
            + (next_step or "The bot keeps running; this signal was not executed."),
        )
    return decision


def note(decision_id: int, message: str) -> None:
    """Say on a pending decision what it is waiting for (never left blank)."""
    Decision.objects.filter(pk=decision_id, outcome=Outcome.PENDING).update(message=message[:500])


def retry_later(decision: Decision, seconds: float, message: str) -> Decision:
    """Leave the decision pending, to be tried again after ``seconds`` (by the sweeper)."""
    Decision.objects.filter(pk=decision.pk, outcome=Outcome.PENDING).update(
        attempts=F("attempts") + 1,
        next_attempt_at=timezone.now() + dt.timedelta(seconds=seconds),
        message=message[:500],
    )
    decision.refresh_from_db(fields=_OWN_FIELDS)
    logger.info("Decision %s: %s; again in %.0f s", decision.pk, message, seconds)
    return decision
