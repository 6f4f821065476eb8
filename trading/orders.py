"""An order's life on the exchange: sent once, looked up when in doubt, synced to the end.

Public surface: ``advance`` (move one order on by a step), ``due_orders`` (what
the sweeper should advance), ``reserved`` (what orders in flight tie up) and
``apply_reply``. Everything else is private.

Exactly once rests on three rules:

- one claimant: a worker moves an order on only while it holds the row's lease
  (``claimed_until``, taken with a compare-and-set; a dead worker's lapses);
- every status change is a compare-and-set on the status the worker saw, and
  sending is the change *pending* → *unknown*: whoever makes it is the only
  one to call ``create_order``; a final order is never *pending* again;
- an order is *unknown* from just before the call until the exchange says
  what became of it; only a lookup that finds no trace after a grace period
  makes it *pending* again (same client order id).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import ccxt
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from accounts.notifications import notify_user
from strategies.models import Signal
from strategies.signing import is_fresh
from trading import decisions, market_cache, order_naming
from trading.events import push_to_user
from trading.exchange_calls import MalformedReply, RateLimited, sent_nothing, with_limits
from trading.models import Balance, Bot, Decision, Fill, Order, Position
from trading.sync import (
    amount_of,
    report_to_strategy,
    settle_decision,
    settle_vanished_open_orders,
    store_balances,
    store_fills,
    update_book,
)
from vault.models import CredentialUse, ExchangeCredential
from vault.services import CredentialUnusable, client_for, credential_mark_invalid

logger = logging.getLogger(__name__)
Status = Order.Status
# Errors after which the order certainly does not exist on the exchange.
DEFINITE_REJECTIONS = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest)
KEY_FAILURES = (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended)
# Exchanges whose trade list can be asked for one order's trades (Binance myTrades orderId).
TRADES_BY_ORDER_ID = {"binance", "binanceus", "paper"}
STATUS_OF_REPLY = {
    "open": Status.OPEN,
    "closed": Status.CLOSED,
    "canceled": Status.CANCELED,
    "cancelled": Status.CANCELED,
    "expired": Status.EXPIRED,
    "rejected": Status.REJECTED,
}
# Reply statuses of an order that has ended and may have filled (ccxt's words).
ENDED_WITH_FILLS = ("closed", "canceled", "cancelled", "expired")


# --- claims and transitions --------------------------------------------------------------

# An order's own columns: read back without dropping its cached bot and decision.
_OWN_FIELDS = [
    f.attname for f in Order._meta.concrete_fields if f.attname not in ("bot_id", "decision_id")
]


def _change(order: Order, expected: Iterable[str] | None, **changes: Any) -> bool:
    """Compare-and-set: apply ``changes`` only if the status is still one of ``expected``."""
    rows = Order.objects.filter(pk=order.pk)
    if expected is not None:
        rows = rows.filter(status__in=list(expected))
    now = timezone.now()
    changed = rows.update(**changes, updated_at=now) == 1
    if changed and not any(hasattr(v, "resolve_expression") for v in changes.values()):
        # The row is what we saw plus our changes (we hold its lease): no read back.
        for name, value in {**changes, "updated_at": now}.items():
            setattr(order, name, value)
    else:  # lost the compare-and-set, or a database-side expression: read it
        order.refresh_from_db(fields=_OWN_FIELDS)
    return changed


@contextlib.contextmanager
def _claimed(order: Order) -> Iterator[bool]:
    """Hold the order's lease for the block; yields False when another worker holds it."""
    now = timezone.now()
    until = now + dt.timedelta(seconds=settings.ORDER_CLAIM_SECONDS)
    mine = (
        Order.objects.filter(pk=order.pk, settled=False)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=until, updated_at=now)
        == 1
    )
    try:
        yield mine
    finally:
        if mine:
            Order.objects.filter(pk=order.pk, claimed_until=until).update(
                claimed_until=None, updated_at=timezone.now()
            )


def reserved(bot: Bot, *, market: str | None = None) -> tuple[Decimal, Decimal]:
    """(quote reserved by the bot's unsettled buys, base reserved by its unsettled sells
    of ``market``). Read under the bot's row lock to size against it."""
    in_flight = Order.objects.filter(bot=bot, settled=False)
    quote = in_flight.filter(side="buy").aggregate(s=Sum("reserved"))["s"]
    base = in_flight.filter(side="sell", market=market).aggregate(s=Sum("reserved"))["s"]
    return quote or Decimal(0), base or Decimal(0)


def committed_elsewhere(reserved_quote: Decimal, others: Iterable[Position]) -> Decimal:
    """What a bot holds outside one market's free cash and position, for sizing a
    target: quote tied up in its unsettled orders plus its other markets'
    positions at their entry price (sizing one market's order reads no price of
    the others; their moves since entry shift the equal shares a little, and the
    next signal of each market rebalances to them)."""
    return reserved_quote + sum(
        (position.amount * position.avg_entry for position in others), Decimal(0)
    )


def due_orders(*, now: dt.datetime, stale: dt.datetime, ignore_backoff: bool) -> QuerySet[Order]:
    """Orders with work left that no live worker holds, oldest first."""
    orders = Order.objects.filter(settled=False, updated_at__lte=stale).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    if not ignore_backoff:
        orders = orders.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    return orders.order_by("created_at")


def _decision(order: Order) -> Decision:
    """The order's decision, for changes made only when it has one (``decision_id``)."""
    decision = order.decision
    if decision is None:
        raise ValueError(f"order {order.pk} has no decision")
    return decision


def _later(seconds: float | None = None) -> dt.datetime:
    wait = settings.ORDER_LOOKUP_RETRY_SECONDS if seconds is None else seconds
    return timezone.now() + dt.timedelta(seconds=wait)


# --- moving an order on ------------------------------------------------------------------


def advance(order: Order, *, api: Any = None) -> Decision | None:
    """Move an order one step on: send it, look it up, or sync it; its decision after.

    Does nothing (and returns the decision) when another worker holds the order.
    Exchange errors are not raised: the order gets a ``next_attempt_at``.
    """
    with _claimed(order) as mine:
        if mine:
            _step(order, api)
            explain_wait(order)
    return Decision.objects.filter(pk=order.decision_id).first() if order.decision_id else None


def explain_wait(order: Order) -> None:
    """A pending decision always says what it waits for (the owner sees it)."""
    if not order.decision_id or order.settled:
        return
    if order.status == Status.UNKNOWN:
        message = "Sent; waiting for the exchange to confirm the order"
    elif order.status == Status.PENDING:
        message = "Not sent yet; trying again shortly"
    else:
        message = "Placed; reading its fills back from the exchange"
    decisions.note(
        order.decision_id, f"{message} ({order.error})." if order.error else f"{message}."
    )


def _step(order: Order, api: Any) -> None:
    order.refresh_from_db(fields=_OWN_FIELDS)
    if api is None:
        try:
            client = client_for(
                order.credential, purpose=CredentialUse.Purpose.TRADE, detail=order.market
            )
        except CredentialUnusable as exc:
            if order.status == Status.PENDING:
                _finish_unsent(order, "credential_inactive", str(exc))
            return
    try:
        if api is None:
            api = with_limits(client, order.exchange_id, order.credential_id)
        replied = False
        if order.status == Status.PENDING:
            replied = _send(order, api)
        elif order.status == Status.UNKNOWN:
            _look_up(order, api)
        if order.status in (Status.OPEN, Status.CLOSED, Status.CANCELED, Status.EXPIRED):
            _sync(order, api, replied=replied)
    except RateLimited as exc:
        _change(order, None, next_attempt_at=_later(exc.retry_after))
    except ccxt.BaseError as exc:
        # Reading the order back failed (network, outage): the sweeper tries again.
        logger.warning("Sync of order %s deferred after %s", order.pk, type(exc).__name__)
        _change(order, None, next_attempt_at=_later())


def _finish_unsent(order: Order, reason: str, message: str) -> None:
    if _change(
        order, [Status.PENDING], status=Status.REJECTED, error=message[:300], settled=True,
        reserved=Decimal(0),
    ) and order.decision_id:  # fmt: skip
        decisions.ignore(_decision(order), reason, message)


def _send(order: Order, api: Any) -> bool:
    """Send the order once; True when the exchange's reply to it was stored."""
    if order.decision_id and order.bot.status != Bot.Status.ACTIVE:
        _finish_unsent(
            order, "bot_inactive", "The bot was paused or stopped before the order was sent."
        )
        return False
    if order.decision_id and not _signal_fresh(order):
        # Held back (our budget, a ban, a worker gone before sending, a lookup that
        # found no trace) past the signal's age: never traded at hours-old size and
        # price, whoever picks it up.
        message = "The signal expired before the order could be sent; nothing was traded."
        if _change(
            order, [Status.PENDING], status=Status.REJECTED, error=message, settled=True,
            reserved=Decimal(0), next_attempt_at=None,
        ):  # fmt: skip
            decisions.fail(_decision(order), "missed", message)
        return False
    # The claim to send: committed before the call, so a crash from here on leaves
    # an order to look up, and no other worker can make the same change.
    if not _change(
        order, [Status.PENDING], status=Status.UNKNOWN, attempts=F("attempts") + 1,
        sent_at=timezone.now(), lookups=0, next_attempt_at=None,
    ):  # fmt: skip
        return False
    try:
        reply = send_call(order, api)
        _check_reply(order, reply)  # an unreadable reply says no more than a timeout
    except (RateLimited, ccxt.BaseError) as exc:
        after_send_error(order, api, exc)
        return False
    apply_reply(order, reply)
    return True


def _signal_fresh(order: Order) -> bool:
    signal = Signal.objects.select_related("strategy").get(decisions__pk=_decision(order).pk)
    return is_fresh(signal)


def send_call(order: Order, api: Any) -> dict[str, Any]:
    """The one ``create_order`` request of an order its caller has claimed to send
    (status *unknown*, committed). No database write of ours: batches run it on threads."""
    reply: dict[str, Any] = api(
        "create_order",
        order.market,
        order.type,
        order.side,
        float(order.amount),
        None,
        order_naming.create_params(order),
    )
    return reply


def after_send_error(order: Order, api: Any, exc: Exception) -> None:
    """What a failed ``create_order`` means for the order: not placed, refused, or in doubt."""
    if isinstance(exc, RateLimited) and not exc.in_doubt:
        # Our own budgets or a recorded ban kept it back, or a 418 (a banned IP's
        # requests are refused outright): not placed.
        _change(
            order, [Status.UNKNOWN], status=Status.PENDING, next_attempt_at=_later(exc.retry_after)
        )
    elif isinstance(exc, RateLimited):
        # The exchange answered 429: the request reached it, and nothing in the
        # answer proves the order was not carried out (a resend with the same id is
        # taken once the first has filled). In doubt: looked up after the wait.
        _change(
            order, [Status.UNKNOWN], next_attempt_at=_later(exc.retry_after),
            error="the exchange answered 'too many requests': status unknown",
        )  # fmt: skip
    elif isinstance(exc, ccxt.InvalidNonce):
        # -1021 after the client's own re-sync and retry: refused on the timestamp,
        # before the order was looked at, so certainly not placed.
        _change(
            order, [Status.UNKNOWN], status=Status.PENDING, next_attempt_at=_later(),
            error="the exchange refused the request time: our clock is out of sync with it",
        )  # fmt: skip
    elif isinstance(exc, (ccxt.DDoSProtection, *KEY_FAILURES)):  # DDoS here: a key rejection
        _key_failed(order, exc)
    elif sent_nothing(exc):
        # ccxt refused it on its own (an argument, the symbol, the amount's precision)
        # before its HTTP layer was entered: proven never placed, so closed now rather
        # than looked up until the signal expires.
        _refused_locally(order, exc)
    elif is_duplicate_order(exc):
        # Our client order id is already taken on the account: an earlier request of
        # this order got through. In doubt, looked up by that id, never rejected.
        logger.warning("Order %s refused as a duplicate: looked up", order.pk)
        _change(order, None, error="the exchange already has this order: looked up")
        _look_up(order, api)
    elif isinstance(exc, DEFINITE_REJECTIONS):
        _rejected(order, exc)
    else:
        # Timeout, dropped connection, 5xx, -1007: the order may or may not exist.
        logger.warning("Order %s status unknown after %s", order.pk, type(exc).__name__)
        _change(order, None, error=f"{type(exc).__name__}: status unknown")
        _look_up(order, api)


def is_duplicate_order(exc: Exception) -> bool:
    """Binance -2010 "Duplicate order sent." (ccxt: InvalidOrder), the paper exchange's
    DuplicateOrder: an order with our client order id exists, not a refusal."""
    return isinstance(exc, ccxt.InvalidOrder) and "duplicate order" in str(exc).lower()


def reply_figures(reply: Any) -> dict[str, Any]:
    """The order figures of an exchange reply, checked before anything is stored.

    Raises MalformedReply when the reply is not an order, its id is too long to
    be one, or a figure is not a finite amount of at least 0 (NaN, Infinity, a
    word, a negative fill): such a reply does not say what became of the order.
    """
    if not isinstance(reply, dict):
        raise MalformedReply(f"the order reply is a {type(reply).__name__}, not an order")
    exchange_id = str(reply["id"]) if reply.get("id") is not None else None
    if exchange_id is not None and len(exchange_id) > 100:
        raise MalformedReply("the order reply's id is too long to be one")
    status, filled = reply.get("status"), reply.get("filled")
    if (filled is None and status in ENDED_WITH_FILLS) or (status == "closed" and not filled):
        # An ended order that does not say how much it filled (ccxt makes a missing
        # Binance executedQty a 0, even for FILLED): taken as 0, the trade would never
        # reach the books, as a final order with no fills is settled at once.
        raise MalformedReply("the order reply says it ended but not how much it filled")
    try:
        return {
            "exchange_order_id": exchange_id,
            "filled": amount_of(reply.get("filled")),
            "cost": amount_of(reply.get("cost")),
            "average": amount_of(reply["average"]) if reply.get("average") else None,
            "error": "",
        }
    except ValueError as exc:
        raise MalformedReply(f"the order reply has an odd figure: {exc}") from None


def reply_of_order(order: Order, reply: Any) -> dict[str, Any]:
    """``reply_figures`` of a reply that can be this order's: the same market and side,
    and no more filled than was asked. Raises MalformedReply otherwise: a reply of
    another order (or a garbled one) says nothing of ours, so it is looked up by our
    client order id rather than booked (another market's fills at its prices, or a
    position larger than the allocation). No database read."""
    figures = reply_figures(reply)
    symbol, side = reply.get("symbol"), reply.get("side")
    if symbol is not None and symbol != order.market:
        raise MalformedReply("the order reply is for another market")
    if side is not None and str(side).lower() != order.side:
        raise MalformedReply("the order reply is for the other side")
    if figures["filled"] > order.amount:
        raise MalformedReply("the order reply says more was filled than was asked")
    return figures


def _check_reply(order: Order, reply: Any) -> dict[str, Any]:
    """``reply_of_order``, and the reply's order id is not another of our orders' on the
    account (a unique column: storing it would fail). Raises MalformedReply."""
    figures = reply_of_order(order, reply)
    named = figures["exchange_order_id"]
    if (
        named
        and named != order.exchange_order_id
        and Order.objects.filter(credential_id=order.credential_id, exchange_order_id=named)
        .exclude(pk=order.pk)
        .exists()
    ):
        raise MalformedReply("the reply names another of our orders on the account")
    return figures


def apply_reply(order: Order, reply: Any) -> None:
    """Store what the exchange says of the order; a final order never becomes live again.

    Raises MalformedReply (``_check_reply``) before storing anything of a reply
    it cannot read."""
    figures = _check_reply(order, reply)
    status = STATUS_OF_REPLY.get(str(reply.get("status") or "open"), Status.OPEN)
    if order.exchange_order_id and not figures["exchange_order_id"]:
        del figures["exchange_order_id"]
    live = [s for s in Status.values if s not in Order.FINAL]
    if not _change(order, live, status=status, **figures):
        _change(order, Order.FINAL, **figures)
    if status == Status.REJECTED and _change(
        order, [Status.REJECTED], settled=True, reserved=Decimal(0)
    ) and order.decision_id:  # fmt: skip
        decisions.fail(_decision(order), "rejected", "The exchange rejected the order.")
    trades = reply_trades(reply)
    if trades and order.exchange_order_id:
        ours = [t for t in trades if isinstance(t, dict) and t.get("id") and _belongs(order, t)]
        for fill in store_fills(order, ours):
            report_to_strategy(order, fill)


def reply_trades(reply: dict[str, Any]) -> list[Any]:
    """The trades an order reply lists, each with a time.

    Binance's FULL reply lists its fills without a time of their own: they happened
    when the order did (``transactTime``), so they take the reply's. Without it,
    ``sync.fill_of`` refuses every one of them and each order is read back (order,
    trades, open orders, ticker) instead of being booked from its reply."""
    trades = reply.get("trades")
    if not isinstance(trades, list):
        return []
    at = reply.get("lastTradeTimestamp") or reply.get("timestamp")
    return [
        {**trade, "timestamp": at}
        if isinstance(trade, dict) and trade.get("timestamp") is None and at
        else trade
        for trade in trades
    ]


def _belongs(order: Order, trade: dict[str, Any]) -> bool:
    return str(trade.get("order") or order.exchange_order_id) == order.exchange_order_id


def _look_up(order: Order, api: Any) -> None:
    """Find an order in doubt by its client order id; decide only on evidence."""
    try:
        found = order_naming.find(order, api)
        if found:
            _check_reply(order, found)  # an unreadable answer is a failed lookup, counted
    except RateLimited:
        raise
    except ccxt.BaseError as exc:  # timeout, clock skew, outage: counted, looked at again
        _lookup_failed(order, exc)
        return
    if found:
        apply_reply(order, found)
        return
    _change(order, [Status.UNKNOWN], lookups=F("lookups") + 1, lookup_failures=0)
    grace = dt.timedelta(seconds=settings.ORDER_LOOKUP_GRACE_SECONDS)
    if order.escalated_at and order.lookups >= 2:
        # The owner was told it failed: it is closed as never placed, not sent late.
        message = "The order never reached the exchange; nothing was traded."
        if _change(
            order, [Status.UNKNOWN], status=Status.REJECTED, error=message, settled=True,
            reserved=Decimal(0),
        ) and order.decision_id:  # fmt: skip
            decisions.decide(
                _decision(order), Decision.Outcome.FAILED, "not_placed", message,
                also_from="unconfirmed",
            )  # fmt: skip
    elif order.lookups >= 2 and order.sent_at and timezone.now() - order.sent_at >= grace:
        # No trace after the grace period: it never arrived. Send it again with
        # the same id (a late duplicate would be refused by the exchange).
        _change(order, [Status.UNKNOWN], status=Status.PENDING)
    else:
        _change(order, None, next_attempt_at=_later())


def _lookup_failed(order: Order, exc: Exception) -> None:
    what = type(exc).__name__
    _change(
        order, [Status.UNKNOWN], lookup_failures=F("lookup_failures") + 1,
        next_attempt_at=_later(), error=f"{what}: status unknown",
    )  # fmt: skip
    logger.warning("Lookup %s of order %s failed: %s", order.lookup_failures, order.pk, what)
    if order.lookup_failures < settings.ORDER_LOOKUP_MAX_FAILURES or order.escalated_at:
        return
    if not _change(order, [Status.UNKNOWN], escalated_at=timezone.now()):
        return
    cause = (
        "the exchange refused our request time (the server clock is out of sync with it)"
        if isinstance(exc, ccxt.InvalidNonce)
        else f"the exchange did not answer ({what})"
    )
    message = (
        f"We could not confirm whether the {order.side} order of {order.amount} {order.market} "
        f"was placed: {order.lookup_failures} lookups failed, {cause}."
    )
    next_step = (
        "Check your open orders and trades on the exchange. We keep looking the order up; "
        "the bot's figures are corrected when the exchange answers, and new orders on this "
        "account wait until then."
    )
    if order.decision_id:
        decisions.fail(_decision(order), "unconfirmed", message, next_step=next_step)
    else:
        notify_user(
            user=order.bot.owner,
            subject=f"Order in doubt on bot {order.bot.name}",
            body=f"{message}\n\n{next_step}",
        )


def _rejected(order: Order, exc: Exception) -> None:
    if not isinstance(exc, ccxt.InsufficientFunds):
        # A filter refusal (-1013 LOT_SIZE, NOTIONAL, PRICE_FILTER; -1111 precision):
        # the exchange's filters may have changed since our markets were cached.
        market_cache.forget_stale_markets(order.exchange_id)
    message = {
        ccxt.InsufficientFunds: "The exchange account does not have enough funds for this order.",
    }.get(type(exc), f"The exchange refused the order ({type(exc).__name__}).")
    if _change(
        order, [Status.UNKNOWN], status=Status.REJECTED, error=message, settled=True,
        reserved=Decimal(0),
    ) and order.decision_id:  # fmt: skip
        decisions.fail(_decision(order), "rejected", message)


def _refused_locally(order: Order, exc: Exception) -> None:
    # ccxt's own messages name the market and the argument, never a key (no request
    # was signed); cut short all the same.
    detail = str(exc).strip()[:150]
    message = (
        f"The order was refused before it was sent ({type(exc).__name__}: {detail}); "
        "nothing reached the exchange."
    )
    logger.warning("Order %s refused by ccxt before sending: %s", order.pk, type(exc).__name__)
    if _change(
        order, [Status.UNKNOWN], status=Status.REJECTED, error=message[:300], settled=True,
        reserved=Decimal(0), next_attempt_at=None,
    ) and order.decision_id:  # fmt: skip
        decisions.fail(_decision(order), "rejected", message)


def _key_failed(order: Order, exc: Exception) -> None:
    message = "The exchange refused the key (revoked, expired or lacking permission)."
    if not _change(
        order, [Status.UNKNOWN], status=Status.REJECTED, error=message, settled=True,
        reserved=Decimal(0),
    ):  # fmt: skip
        return
    credential_mark_invalid(order.credential, reason=message)
    stopped = list(Bot.objects.filter(credential=order.credential, status=Bot.Status.ACTIVE))
    Bot.objects.filter(pk__in=[b.pk for b in stopped], status=Bot.Status.ACTIVE).update(
        status=Bot.Status.ERROR, status_reason=message, updated_at=timezone.now()
    )
    if stopped:
        notify_user(
            user=order.bot.owner,
            subject="Bots stopped by an error",
            body=f"{message}\n\nStopped: {', '.join(b.name for b in stopped)}. "
            "Link a working key and resume them.",
        )
    if order.decision_id:
        decisions.fail(_decision(order), "key_refused", message)


# --- after the exchange has it: fills, balances, books -----------------------------------


def _stored_fills(order: Order) -> Decimal:
    return order.fills.aggregate(s=Sum("amount"))["s"] or Decimal(0)


def _sync(order: Order, api: Any, *, replied: bool = False) -> None:
    """Bring the order, its fills and the bot's book up to date; settle it when done.

    The fast path: when the order's own reply just said it is final and brought
    all its fills (Binance ``newOrderRespType=FULL``, the paper exchange), nothing
    is read back: no order, trades, balances or ticker (weight 0 per order).
    Otherwise the order and its own trades (by order id where the exchange can)
    are read back. Balances are refreshed on a schedule, not per order.
    The order is settled (its reservation released) only once it is final and its
    stored fills add up to its filled amount; until then it is synced again.
    """
    new_fills: list[Any] = []
    stored = _stored_fills(order)
    if replied and order.is_final and stored == order.filled:
        price = order.average or order.price or Decimal(0)
        check_open_orders(order, api)
    else:
        new_fills = _read_back(order, api)
        try:
            price = amount_of(api("fetch_ticker", order.market)["last"])
        except (ccxt.BaseError, KeyError, TypeError, ValueError):  # no usable price: ours
            price = Decimal(0)
        price = price or order.average or order.price or Decimal(0)
        stored = _stored_fills(order)
    with transaction.atomic():
        update_book(order.bot, {order.market: price})
        if order.is_final and stored == order.filled:
            _change(order, Order.FINAL, settled=True, reserved=Decimal(0), next_attempt_at=None)
        elif order.is_final:
            logger.warning(
                "Order %s: %s filled but %s in stored fills; synced again", order.pk,
                order.filled, stored,
            )  # fmt: skip
            _change(order, None, next_attempt_at=_later())
        settle_decision(order)
    for fill in new_fills:
        report_to_strategy(order, fill)
    push_to_user(
        order.bot.owner_id,
        "order",
        {
            "bot": str(order.bot_id),
            "order": order.pk,
            "market": order.market,
            "side": order.side,
            "status": order.status,
            "filled": str(order.filled),
        },
    )


def _read_back(order: Order, api: Any) -> list[Any]:
    """Read the order and its trades back; store them; the fills that are new."""
    if order.exchange_order_id:
        reply = api("fetch_order", order.exchange_order_id, order.market)
    else:
        reply = order_naming.find(order, api)
        if reply is None:
            raise ccxt.OrderNotFound("the placed order is not found by its client order id")
    apply_reply(order, reply)
    new_fills = store_fills(order, _trades_of(order, api, reply))
    check_open_orders(order, api, always=True)
    return new_fills


def check_open_orders(order: Order, api: Any, *, always: bool = False) -> None:
    """A side job: our other orders the exchange no longer lists as open are looked
    up again. Asked only when we hold such orders (or ``always``); skipped on an error."""
    others = Order.objects.filter(
        credential_id=order.credential_id, market=order.market, status=Status.OPEN
    ).exclude(pk=order.pk)
    if always or others.exists():
        with contextlib.suppress(ccxt.BaseError):
            settle_vanished_open_orders(order, api("fetch_open_orders", order.market))


def accounts_due_balances(*, now: dt.datetime | None = None) -> QuerySet[ExchangeCredential]:
    """Active accounts whose stored balances may be out of date: never read, a fill
    newer than the last read, or a read older than ``BALANCE_MAX_AGE_SECONDS`` (the
    owner may trade by hand). A scheduled refresh reads only these (weight 20 each)."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.BALANCE_MAX_AGE_SECONDS)
    # The last read; a row it could not update (an odd figure) keeps its older time.
    synced = Balance.objects.filter(credential=OuterRef("pk")).order_by("-synced_at")
    # Run every minute: a probe of the (credential, taken_at) index per account, not a
    # maximum over every fill of every account.
    traded_since = Fill.objects.filter(credential=OuterRef("pk"), taken_at__gt=OuterRef("synced"))
    return (
        ExchangeCredential.objects.filter(status=ExchangeCredential.Status.ACTIVE)
        .annotate(synced=Subquery(synced.values("synced_at")[:1]))
        .filter(Q(synced__isnull=True) | Q(synced__lt=stale) | Exists(traded_since))
    )


def refresh_balances(credential: Any) -> None:
    """Store the account's balances (scheduled; no longer after every order), dated
    when they were asked for."""
    client = client_for(credential, purpose=CredentialUse.Purpose.SYNC, detail="balances")
    api = with_limits(client, credential.exchange_id, credential.pk)
    # The reply shows the account as it was at some moment after the request went out:
    # a fill booked while it travels must leave the account due for another read, so
    # the read is dated when it was asked, on the exchange's clock (fills carry its times).
    asked = timezone.now() - dt.timedelta(milliseconds=_clock_lead_ms(client))
    store_balances(credential.pk, api("fetch_balance"), read_at=asked)
    push_to_user(credential.owner_id, "balances", {"account": str(credential.pk)})


def _clock_lead_ms(client: Any) -> int:
    """How far our clock runs ahead of the exchange's (ccxt's ``timeDifference``)."""
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        return int(client.options.get("timeDifference") or 0)
    return 0


def _trades_of(order: Order, api: Any, reply: Any = None) -> list[dict[str, Any]]:
    """The order's own trades: asked for by order id where the exchange can, so a
    busy account's other trades never push them out of a recent window."""
    if not order.exchange_order_id:
        return []
    if order.exchange_id in TRADES_BY_ORDER_ID:
        trades = api(
            "fetch_my_trades", order.market, None, None, {"orderId": order.exchange_order_id}
        )
    elif ids := order_naming.trade_ids(order, reply):
        # Kraken: QueryTrades by the ids its order lists (its fetch_order_trades wants them).
        trades = api(
            "fetch_order_trades", order.exchange_order_id, order.market, None, None, {"trades": ids}
        )
    else:
        try:
            trades = api("fetch_order_trades", order.exchange_order_id, order.market)
        except (ccxt.NotSupported, ccxt.ArgumentsRequired):
            # The last resort: the account's recent trades (Kraken's fetch_order_trades
            # wants the order's trade ids, when its order reply lists none yet).
            trades = api("fetch_my_trades", order.market, None, 100)
    return [
        t
        for t in trades or []
        if isinstance(t, dict) and str(t.get("order")) == order.exchange_order_id
    ]
