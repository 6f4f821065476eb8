"""Irregular activity: an account trading far more than its bots hold.

The 24 h volume comes from the exchange's own trade history, so trades made
outside OneClick (a leaked key, say) count too.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import ccxt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.events import record_event
from accounts.models import SecurityEvent
from accounts.notifications import notify_user
from trading.exchange_calls import MalformedReply, RateLimited, with_limits
from trading.models import ActivityIncident, Bot, Position
from trading.sync import decimal_of
from vault.models import CredentialUse, ExchangeCredential
from vault.services import CredentialUnusable, client_for

logger = logging.getLogger(__name__)


def position_size(credential: ExchangeCredential) -> Decimal:
    """What the account's bots hold, valued at entry, plus their unspent allocation."""
    bots = Bot.objects.filter(credential=credential).exclude(status=Bot.Status.STOPPED)
    held = sum(
        (p.amount * p.avg_entry for p in Position.objects.filter(bot__in=bots, amount__gt=0)),
        Decimal(0),
    )
    return held + sum((b.cash for b in bots), Decimal(0))


def traded_volume_24h(credential: ExchangeCredential, markets: set[str]) -> Decimal:
    client = client_for(credential, purpose=CredentialUse.Purpose.SYNC, detail="24 h volume check")
    api = with_limits(client, credential.exchange_id, credential.pk)
    since = int((timezone.now() - dt.timedelta(hours=24)).timestamp() * 1000)
    volume = Decimal(0)
    for market in sorted(markets):
        for trade in api("fetch_my_trades", market, since, 1000):
            try:
                volume += decimal_of(trade.get("cost"))
            except (AttributeError, ValueError) as exc:  # the check is skipped, not fooled
                raise MalformedReply(f"a trade's cost: {exc}") from None
    return volume


def check_account(credential: ExchangeCredential) -> str:
    """Open (and alert once) or close an incident for one account."""
    size = position_size(credential)
    markets = {m for b in Bot.objects.filter(credential=credential) for m in b.markets}
    if not markets or size <= 0:
        return "idle"
    try:
        volume = traded_volume_24h(credential, markets)
    except (CredentialUnusable, RateLimited, ccxt.BaseError) as exc:
        logger.info("Activity check of %s skipped: %s", credential.pk, type(exc).__name__)
        return "skipped"
    ratio = volume / size
    open_incident = ActivityIncident.objects.filter(credential=credential, closed_at__isnull=True)
    if ratio <= settings.ACTIVITY_ALERT_RATIO:
        open_incident.update(closed_at=timezone.now())
        return "normal"
    if open_incident.exists():
        return "ongoing"  # alerted already for this incident
    try:
        with transaction.atomic():
            ActivityIncident.objects.create(
                credential=credential, volume_24h=volume, position_size=size
            )
            record_event(
                user=credential.owner, kind=SecurityEvent.Kind.ACTIVITY_ALERT,
                credential=str(credential.pk), volume=str(volume), position=str(size),
            )  # fmt: skip
            notify_user(
                user=credential.owner,
                subject="Irregular trading on your exchange account",
                body=(
                    f"In the last 24 hours your key {credential.label} ({credential.api_key_masked}) "
                    f"traded {volume:.2f}, {ratio:.1f} times what your bots hold ({size:.2f}). "
                    "If this was not you, disable the key now and delete it on the exchange."
                ),
            )
    except IntegrityError:
        return "ongoing"  # another process opened it first
    return "alerted"
