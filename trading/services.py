"""Bots: create, pause, resume, raise the allocation, stop. The only writers of bots."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import Any

import ccxt
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.events import RequestMeta, record_event
from accounts.models import SecurityEvent, User
from accounts.notifications import notify_user
from strategies.models import Signal
from trading.events import push_to_user
from trading.exchange_calls import RateLimited, with_limits
from trading.health import min_allocation
from trading.liquidation import sell_position
from trading.models import Bot, Order
from trading.orders import reserved
from trading.sync import amount_of
from vault.models import CredentialUse, ExchangeCredential
from vault.services import CredentialUnusable, client_for

logger = logging.getLogger(__name__)


class BotRefused(Exception):
    """The change was refused; the message is fit to show the user."""


def _amount(value: Decimal) -> str:
    """A Decimal as people write it: 600, not 6E+2 (what normalize() gives)."""
    return f"{value.normalize():f}"


def _free_balance(credential: ExchangeCredential, currency: str) -> Decimal:
    try:
        client = client_for(credential, purpose=CredentialUse.Purpose.SYNC, detail="free balance")
        balance = with_limits(client, credential.exchange_id, credential.pk)("fetch_balance")
    except CredentialUnusable as exc:
        raise BotRefused(str(exc)) from None
    except (ccxt.BaseError, RateLimited) as exc:
        raise BotRefused(
            f"Could not read your balance on the exchange ({type(exc).__name__}). Try again shortly."
        ) from None
    try:
        return amount_of((balance.get(currency) or {}).get("free"))
    except (AttributeError, ValueError):  # NaN, a word, a negative amount
        raise BotRefused(
            "Could not read your balance on the exchange (an unreadable reply). Try again shortly."
        ) from None


def _committed(
    credential: ExchangeCredential, currency: str, *, excluding: Bot | None = None
) -> Decimal:
    """Quote the account's other running bots have not spent yet."""
    bots = Bot.objects.filter(
        credential=credential,
        quote_currency=currency,
        status__in=[Bot.Status.ACTIVE, Bot.Status.PAUSED],
    )
    if excluding is not None:
        bots = bots.exclude(pk=excluding.pk)
    return sum((b.cash for b in bots), Decimal(0))


def _check_allocation(
    credential: ExchangeCredential, currency: str, amount: Decimal, *, bot: Bot | None = None
) -> None:
    if amount <= 0:
        raise BotRefused("The allocation must be more than zero.")
    free = _free_balance(credential, currency)
    available = free - _committed(credential, currency, excluding=bot)
    needed = amount - (bot.allocation - bot.cash if bot else Decimal(0))
    if needed > available:
        raise BotRefused(
            f"Your account has {_amount(available)} {currency} free for a new allocation; "
            f"this needs {_amount(needed)}."
        )


def bot_create(
    *,
    meta: RequestMeta | None,
    user: User,
    credential: ExchangeCredential,
    strategy: Any,
    name: str,
    markets: list[str],
    quote_currency: str,
    allocation: Decimal,
    join_now: bool = False,
) -> Bot:
    """Create a running bot after checking markets and the account's free balance.

    With ``join_now``, the strategy's latest still-fresh signals that hold a position (buys, targets above 0) are queued for
    the new bot after commit (the normal execution task and all its checks).
    The caller has checked ownership of the credential and a fresh one-time code.
    Raises BotRefused.
    """
    if credential.owner_id != user.pk or credential.status != ExchangeCredential.Status.ACTIVE:
        raise BotRefused("Choose one of your active exchange keys.")
    if not strategy.is_active:
        raise BotRefused("This strategy is not available.")
    twice = sorted({m for m in markets if markets.count(m) > 1})
    if twice:
        # Only a hand-made request repeats a box; stored twice, a market would get
        # half the allocation as its share.
        raise BotRefused(f"{', '.join(twice)} is chosen twice: choose each market once.")
    unknown = sorted(set(markets) - set(strategy.markets))
    if not markets or unknown:
        raise BotRefused(f"Choose markets the strategy trades ({', '.join(strategy.markets)}).")
    wrong_quote = [m for m in markets if not m.endswith(f"/{quote_currency}")]
    if wrong_quote:
        raise BotRefused(f"{', '.join(wrong_quote)} is not quoted in {quote_currency}.")
    least = min_allocation(credential.exchange_id, len(markets))
    if allocation < least:
        raise BotRefused(
            f"Allocate at least {least:f} {quote_currency}: below that the strategy's "
            "first order in each market misses the market's minimum."
        )
    _check_allocation(credential, quote_currency, allocation)
    with transaction.atomic():
        bot = Bot.objects.create(
            owner=user,
            credential=credential,
            strategy=strategy,
            name=name,
            markets=sorted(markets),
            quote_currency=quote_currency,
            allocation=allocation,
            cash=allocation,
            equity=allocation,
            peak_equity=allocation,
        )
        record_event(user=user, kind=SecurityEvent.Kind.BOT_CREATED, meta=meta, bot=str(bot.pk))
        if join_now:
            _join_current_position(bot)
    push_to_user(user.pk, "bot", {"bot": str(bot.pk), "status": bot.status})
    return bot


def joinable_signals(bot: Bot) -> list[Any]:
    """Per market of the bot, the strategy's latest signal if it is a buy still fresh.

    Only the latest counts: an older buy followed by a sell or a hold is a position
    the strategy no longer holds.
    """
    cutoff = timezone.now() - dt.timedelta(seconds=bot.strategy.max_signal_age)
    latest: dict[str, Any] = {}
    recent = Signal.objects.filter(
        strategy=bot.strategy, market__in=bot.markets, created_at__gte=cutoff
    ).order_by("-period", "-created_at")
    for signal in recent:
        latest.setdefault(signal.market, signal)
    # A target above nothing is a position to join too.
    return [
        s
        for s in latest.values()
        if s.action == Signal.Action.BUY or (s.action == Signal.Action.TARGET and s.fraction > 0)
    ]


def _join_current_position(bot: Bot) -> None:
    for signal in joinable_signals(bot):
        # Through the execution task, as a fan-out would: every check still applies.
        transaction.on_commit(
            partial(async_task, "trading.tasks.execute_signal", str(bot.pk), str(signal.pk))
        )


def _set_status(
    bot: Bot,
    status: str,
    reason: str,
    *,
    meta: RequestMeta | None,
    kind: SecurityEvent.Kind,
    expected: Iterable[str] | None = None,
) -> bool:
    """Compare-and-set: change the status only from one of ``expected`` (any when None).

    A decision taken on a stale copy (two tabs, staff's incident switch while the
    owner stops the bot) never overwrites a newer status. False when nothing changed.
    """
    rows = Bot.objects.filter(pk=bot.pk)
    if expected is not None:
        rows = rows.filter(status__in=list(expected))
    if not rows.update(status=status, status_reason=reason, updated_at=timezone.now()):
        bot.refresh_from_db(fields=["status", "status_reason"])
        return False
    bot.status, bot.status_reason = status, reason
    record_event(user=bot.owner, kind=kind, meta=meta, bot=str(bot.pk))
    push_to_user(bot.owner_id, "bot", {"bot": str(bot.pk), "status": status})
    return True


def bot_pause(*, meta: RequestMeta | None, bot: Bot, reason: str = "Paused by you") -> bool:
    """No new orders from now on; open orders and positions stay.

    True when this call paused it (False: it was already paused). Raises BotRefused
    when the bot is stopped, also when it was stopped after ``bot`` was read."""
    if bot.status == Bot.Status.STOPPED:
        raise BotRefused("A stopped bot cannot be paused.")
    running = [Bot.Status.ACTIVE, Bot.Status.ERROR]
    kind = SecurityEvent.Kind.BOT_PAUSED
    if _set_status(bot, Bot.Status.PAUSED, reason, meta=meta, kind=kind, expected=running):
        return True
    if bot.status == Bot.Status.STOPPED:
        raise BotRefused("A stopped bot cannot be paused.")
    return False


def bot_resume(*, meta: RequestMeta | None, bot: Bot) -> None:
    """The caller has checked a fresh one-time code. Raises BotRefused when the bot is
    stopped (also when it was stopped after ``bot`` was read) or its key is not active."""
    if bot.status == Bot.Status.STOPPED:
        raise BotRefused("A stopped bot cannot be resumed; create a new one.")
    if bot.credential.status != ExchangeCredential.Status.ACTIVE:
        raise BotRefused("The bot's exchange key is not active. Re-enable or replace it first.")
    not_stopped = [Bot.Status.ACTIVE, Bot.Status.PAUSED, Bot.Status.ERROR]
    kind = SecurityEvent.Kind.BOT_RESUMED
    if not _set_status(bot, Bot.Status.ACTIVE, "", meta=meta, kind=kind, expected=not_stopped):
        raise BotRefused("A stopped bot cannot be resumed; create a new one.")


def _in_use(bot: Bot) -> Decimal:
    """Quote the bot has spent or reserved for buys still in flight."""
    return bot.allocation - bot.cash + reserved(bot)[0]


def bot_set_allocation(*, meta: RequestMeta | None, bot: Bot, allocation: Decimal) -> None:
    """Change the allocation; raising it needs a fresh code (checked by the caller).

    Never below what the bot has spent or reserved for orders in flight. A
    compare-and-set on the allocation ``bot`` was read with: raises BotRefused
    if it changed since (the caller's raise-or-not decision is stale).
    """
    if allocation > bot.allocation:
        _check_allocation(bot.credential, bot.quote_currency, allocation, bot=bot)
    with transaction.atomic():
        # Under the lock order sizing takes, so no order is sized against the old figure.
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        if locked.allocation != bot.allocation:
            # Whether this is a raise (a fresh code, the balance check) was decided on
            # the figure read before the lock: a change since makes that decision stale.
            raise BotRefused(
                f"The allocation changed meanwhile to {_amount(locked.allocation)} "
                f"{bot.quote_currency}; check it and try again."
            )
        used = _in_use(locked)
        if allocation < used:
            raise BotRefused(
                f"The bot already has {_amount(used)} {bot.quote_currency} in positions and orders."
            )
        Bot.objects.filter(pk=bot.pk).update(
            allocation=allocation, cash=locked.cash + allocation - locked.allocation,
            updated_at=timezone.now(),
        )  # fmt: skip
        record_event(
            user=bot.owner, kind=SecurityEvent.Kind.BOT_ALLOCATION_CHANGED, meta=meta,
            bot=str(bot.pk), allocation=format(allocation, "f"),
        )  # fmt: skip
    bot.refresh_from_db()


def bot_stop(*, meta: RequestMeta | None, bot: Bot, sell_positions: bool) -> None:
    """Stop for good: no new order from this moment. Cancelling its open orders and,
    if asked, selling its positions run in a task after commit (``bot_wind_down``), so
    the exchange is never called inside the owner's request; the bot page shows each
    sell as it goes and problems reach the owner by email (and Telegram)."""
    _set_status(
        bot,
        Bot.Status.STOPPED,
        "Stopped by you",
        meta=meta,
        kind=SecurityEvent.Kind.BOT_STOPPED,
    )
    bot_id = str(bot.pk)
    transaction.on_commit(lambda: async_task("trading.tasks.wind_down_bot", bot_id, sell_positions))


def bot_wind_down(*, bot: Bot, sell_positions: bool) -> list[str]:
    """Cancel a stopped bot's open orders and, if asked, sell its positions.

    Safe to run again (a retried task): cancels act on open orders only and each
    sell has one deterministic client order id. Returns the problems met; the
    owner is told of them.
    """
    problems: list[str] = []
    try:
        client = client_for(bot.credential, purpose=CredentialUse.Purpose.TRADE, detail="stop bot")
    except CredentialUnusable as exc:
        problems = [f"Open orders and positions were left as they are: {exc}"]
    else:
        problems = _cancel_and_sell(bot, client, sell_positions=sell_positions)
    if problems:
        notify_user(
            user=bot.owner,
            subject=f"Bot {bot.name} stopped with problems",
            body="\n".join(problems),
        )
    return problems


def _cancel_and_sell(bot: Bot, client: Any, *, sell_positions: bool) -> list[str]:
    problems: list[str] = []
    api = with_limits(client, bot.credential.exchange_id, bot.credential_id)
    for order in bot.orders.filter(status=Order.Status.OPEN):
        try:
            api("cancel_order", order.exchange_order_id, order.market)
            # Left unsettled: the sweeper syncs its fills and releases its reservation.
            Order.objects.filter(pk=order.pk, status=Order.Status.OPEN).update(
                status=Order.Status.CANCELED, updated_at=timezone.now()
            )
        except (ccxt.BaseError, RateLimited) as exc:
            problems.append(f"Could not cancel order {order.client_order_id}: {type(exc).__name__}")
    if sell_positions:
        for position in bot.positions.filter(amount__gt=0):
            problem = sell_position(bot, position, api)
            if problem:
                problems.append(problem)
    return problems
