"""From a signal to exactly one order, or to a recorded reason why not.

The order row, with a client order id derived from (bot, signal), is committed
before ``create_order`` is called, and its status is set to *unknown* (also
committed) just before the call. So whatever point a worker dies at, the
database says what to do next:

- ``pending``: never sent — send it;
- ``unknown``: maybe placed — look it up by client order id before anything
  else; only when the exchange shows no trace of it after a grace period is it
  sent again, with the same id, which the exchange refuses as a duplicate if
  the first one did arrive after all.

ccxt's error classes do not say whether an order was placed, so only definite
rejections (funds, invalid order, authentication, permission) end an order
without a lookup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import ccxt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.notifications import notify_user
from strategies.signing import is_fresh, verify_signal
from trading.exchange_calls import RateLimited, with_limits
from trading.models import Bot, Decision, Order
from vault.models import CredentialUse, ExchangeCredential
from vault.services import CredentialUnusable, client_for, credential_mark_invalid

logger = logging.getLogger(__name__)
Outcome = Decision.Outcome
Status = Order.Status
# Errors after which the order certainly does not exist on the exchange.
DEFINITE_REJECTIONS = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest)
KEY_FAILURES = (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended)


def client_order_id(bot_id: object, signal_id: object) -> str:
    """Deterministic, so a retry or a crash can never make a second order."""
    digest = hashlib.sha256(f"{bot_id}:{signal_id}".encode()).hexdigest()
    return f"oc{digest[:30]}"  # Binance allows 36 characters of [A-Za-z0-9_-]


# --- decisions --------------------------------------------------------------------------


def _decide(decision: Decision, outcome: str, reason: str, message: str) -> Decision:
    updated = Decision.objects.filter(pk=decision.pk, outcome=Outcome.PENDING).update(
        outcome=outcome, reason=reason, message=message[:500], decided_at=timezone.now()
    )
    decision.refresh_from_db()
    if updated:
        from trading.events import push_to_user

        push_to_user(
            decision.bot.owner_id,
            "decision",
            {"bot": str(decision.bot_id), "outcome": outcome, "reason": reason, "message": message},
        )
    return decision


def _ignore(decision: Decision, reason: str, message: str) -> Decision:
    return _decide(decision, Outcome.IGNORED, reason, message)


def _fail(decision: Decision, reason: str, message: str) -> Decision:
    decision = _decide(decision, Outcome.FAILED, reason, message)
    notify_user(
        user=decision.bot.owner,
        subject=f"Order failed on bot {decision.bot.name}",
        body=f"{message}\n\nThe bot keeps running; this signal was not executed.",
    )
    return decision


def decision_for(bot: Bot, signal: Any) -> Decision:
    try:
        with transaction.atomic():
            decision, _ = Decision.objects.get_or_create(bot=bot, signal=signal)
    except IntegrityError:  # another worker created it first
        decision = Decision.objects.get(bot=bot, signal=signal)
    return decision


# --- checks -----------------------------------------------------------------------------


def _check(bot: Bot, signal: Any) -> tuple[str, str] | None:
    """Why the signal must not be traded, or None. Cheapest checks first."""
    if bot.status != Bot.Status.ACTIVE:
        return "bot_inactive", f"The bot is {bot.get_status_display().lower()}."
    if bot.credential.status != ExchangeCredential.Status.ACTIVE:
        return "credential_inactive", "The bot's exchange key is not active."
    if signal.strategy_id != bot.strategy_id:
        return "wrong_strategy", "The signal is not from this bot's strategy."
    if not verify_signal(signal, bot.strategy.public_key):
        return "bad_signature", "The signal's signature does not verify with the strategy's key."
    if not is_fresh(signal):
        return "stale", "The signal is older than its maximum age."
    if signal.market not in bot.markets:
        return "market_not_allowed", f"{signal.market} is not in the bot's market list."
    if signal.action == "hold":
        return "hold", "The strategy says hold."
    fraction = Decimal(signal.fraction)
    if not Decimal(0) < fraction <= Decimal(1):
        return "oversize", "The signal asks for more than the whole allocation or position."
    return None


def _size(
    bot: Bot, signal: Any, markets: dict[str, Any], price: Decimal
) -> tuple[str, str] | Decimal:
    """The order amount in base units, or why there is none."""
    market = markets.get(signal.market)
    if market is None:
        return "market_unknown", f"{signal.market} is not traded on this exchange."
    fraction = Decimal(signal.fraction)
    if signal.action == "buy":
        quote = (bot.allocation * fraction).quantize(Decimal("0.00000001"), ROUND_DOWN)
        if quote > bot.cash:
            return "over_allocation", (
                f"Buying {quote} {bot.quote_currency} would exceed the {bot.cash} the bot has left."
            )
        raw = quote / price
    else:
        position = bot.positions.filter(market=signal.market).first()
        held = position.amount if position else Decimal(0)
        if held <= 0:
            return "nothing_held", f"The bot holds no {signal.market.split('/')[0]} to sell."
        raw = held * fraction
        if raw > held:
            return "over_position", "The sell is larger than the bot's position."
    amount = _to_step(raw, market)
    limits = market.get("limits") or {}
    min_amount = (limits.get("amount") or {}).get("min")
    min_cost = (limits.get("cost") or {}).get("min")
    if amount <= 0 or (min_amount and amount < Decimal(str(min_amount))):
        return "below_minimum", f"{amount} is below the market's minimum amount."
    if min_cost and amount * price < Decimal(str(min_cost)):
        return "below_minimum", (
            f"{(amount * price).normalize():f} is below the market's minimum order value {min_cost}."
        )
    return amount


def _to_step(value: Decimal, market: dict[str, Any]) -> Decimal:
    step = (market.get("precision") or {}).get("amount")
    try:
        step = Decimal(str(step)) if step else None
    except InvalidOperation:
        step = None
    if not step or step <= 0:
        return value
    if step >= 1 and step == step.to_integral_value() and market.get("precisionMode") == "digits":
        step = Decimal(1).scaleb(-int(step))
    return (value / step).to_integral_value(ROUND_DOWN) * step


# --- the flow ---------------------------------------------------------------------------


def execute(bot_id: object, signal_id: object) -> Decision:
    """Turn one signal into at most one order for one bot; record the decision.

    Idempotent: running it again (a retry, the sweeper) continues where the
    last run stopped and never places a second order.
    """
    from strategies.models import Signal

    bot = Bot.objects.select_related("credential", "strategy", "owner").get(pk=bot_id)
    signal = Signal.objects.select_related("strategy").get(pk=signal_id)
    decision = decision_for(bot, signal)
    if decision.outcome != Outcome.PENDING:
        return decision
    order = Order.objects.filter(decision=decision).first()
    if order is not None:
        return advance(order)
    refusal = _check(bot, signal)
    if refusal:
        return _ignore(decision, *refusal)
    try:
        client = client_for(
            bot.credential, purpose=CredentialUse.Purpose.TRADE, detail=signal.market
        )
    except CredentialUnusable as exc:
        return _ignore(decision, "credential_inactive", str(exc))
    api = with_limits(client, bot.credential.exchange_id, bot.credential_id)
    # Orders of this account still in doubt are settled before a new one goes out.
    try:
        for doubtful in Order.objects.filter(credential=bot.credential, status=Status.UNKNOWN):
            _reconcile(doubtful, api)
        if Order.objects.filter(credential=bot.credential, status=Status.UNKNOWN).exists():
            # Still in doubt: no new order on this account until it is settled.
            return _defer_decision(decision, settings.ORDER_LOOKUP_RETRY_SECONDS)
        markets = api("load_markets")
        price = Decimal(str(api("fetch_ticker", signal.market)["last"]))
    except RateLimited as exc:
        return _defer_decision(decision, exc.retry_after)
    except ccxt.BaseError as exc:
        return _fail(
            decision, "exchange_error", f"Could not read the market: {type(exc).__name__}."
        )
    sized = _size(bot, signal, markets, price)
    if not isinstance(sized, Decimal):
        return _ignore(decision, *sized)
    with transaction.atomic():
        order = Order.objects.create(
            bot=bot,
            decision=decision,
            credential=bot.credential,
            exchange_id=bot.credential.exchange_id,
            market=signal.market,
            side=signal.action,
            type="market",
            amount=sized,
            price=price,
            client_order_id=client_order_id(bot.pk, signal.pk),
        )
    return advance(order, api=api)


def _defer_decision(decision: Decision, seconds: float) -> Decision:
    # Left pending: the sweeper picks it up again once the budget has room.
    logger.info("Decision %s deferred %.0f s by rate limits", decision.pk, seconds)
    return decision


def advance(order: Order, *, api: Any = None) -> Decision | None:
    """Move an order one step on: send it, look it up, or sync it."""
    order.refresh_from_db()
    if api is None:
        try:
            client = client_for(
                order.credential, purpose=CredentialUse.Purpose.TRADE, detail=order.market
            )
        except CredentialUnusable as exc:
            if order.status == Status.PENDING:
                return _finish_unsent(order, "credential_inactive", str(exc))
            return order.decision
        api = with_limits(client, order.exchange_id, order.credential_id)
    try:
        if order.status == Status.PENDING:
            _send(order, api)
        elif order.status == Status.UNKNOWN:
            _reconcile(order, api)
        if order.status in (Status.OPEN, Status.CLOSED, Status.CANCELED, Status.EXPIRED):
            from trading.sync import sync_order

            sync_order(order, api)
    except RateLimited as exc:
        Order.objects.filter(pk=order.pk).update(
            next_attempt_at=timezone.now() + dt.timedelta(seconds=exc.retry_after)
        )
    except ccxt.BaseError as exc:
        # Reading the order back failed (network, outage): the sweeper tries again.
        logger.warning("Sync of order %s deferred after %s", order.pk, type(exc).__name__)
        _retry_later(order)
    return Decision.objects.filter(pk=order.decision_id).first() if order.decision_id else None


def _finish_unsent(order: Order, reason: str, message: str) -> Decision | None:
    Order.objects.filter(pk=order.pk, status=Status.PENDING).update(
        status=Status.REJECTED, error=message[:300]
    )
    if order.decision_id:
        return _ignore(order.decision, reason, message)
    return None


def _send(order: Order, api: Any) -> None:
    bot = order.bot
    if order.decision_id and bot.status != Bot.Status.ACTIVE:
        _finish_unsent(
            order, "bot_inactive", "The bot was paused or stopped before the order was sent."
        )
        order.refresh_from_db()
        return
    # Committed before the call: a crash from here on leaves an order to look up.
    Order.objects.filter(pk=order.pk).update(
        status=Status.UNKNOWN, attempts=order.attempts + 1, sent_at=timezone.now(), lookups=0
    )
    order.refresh_from_db()
    try:
        reply = api(
            "create_order",
            order.market,
            order.type,
            order.side,
            float(order.amount),
            None,
            {"clientOrderId": order.client_order_id},
        )
    except RateLimited:
        # Not sent, or refused with 429/418 before it was processed: not placed.
        Order.objects.filter(pk=order.pk).update(status=Status.PENDING)
        raise
    except ccxt.DDoSProtection as exc:  # only a key rejection gets here (see call())
        return _key_failed(order, exc)
    except KEY_FAILURES as exc:
        return _key_failed(order, exc)
    except DEFINITE_REJECTIONS as exc:
        return _rejected(order, exc)
    except ccxt.BaseError as exc:
        # Timeout, dropped connection, 5xx, -1007: the order may or may not exist.
        logger.warning("Order %s status unknown after %s", order.pk, type(exc).__name__)
        Order.objects.filter(pk=order.pk).update(error=f"{type(exc).__name__}: status unknown")
        _reconcile(order, api)
        return
    _apply_reply(order, reply)


def _apply_reply(order: Order, reply: dict[str, Any]) -> None:
    status = {
        "open": Status.OPEN,
        "closed": Status.CLOSED,
        "canceled": Status.CANCELED,
        "cancelled": Status.CANCELED,
        "expired": Status.EXPIRED,
        "rejected": Status.REJECTED,
    }.get(str(reply.get("status") or "open"), Status.OPEN)
    Order.objects.filter(pk=order.pk).update(
        status=status,
        exchange_order_id=str(reply.get("id")) if reply.get("id") is not None else None,
        filled=Decimal(str(reply.get("filled") or 0)),
        cost=Decimal(str(reply.get("cost") or 0)),
        average=Decimal(str(reply["average"])) if reply.get("average") else None,
        error="",
    )
    order.refresh_from_db()


def _reconcile(order: Order, api: Any) -> None:
    """Find an order in doubt by its client order id; decide only on evidence."""
    found = None
    try:
        found = api("fetch_order", None, order.market, {"clientOrderId": order.client_order_id})
        if not found:
            raise ccxt.OrderNotFound("empty reply")
    except ccxt.OrderNotFound:
        try:
            found = _search_open_and_trades(order, api)
        except ccxt.BaseError:
            _retry_later(order)
            return
    except ccxt.BaseError:  # timeout, outage or odd reply while looking: look again later
        _retry_later(order)
        return
    if found:
        _apply_reply(order, found)
        return
    lookups = order.lookups + 1
    Order.objects.filter(pk=order.pk).update(lookups=lookups)
    order.refresh_from_db()
    grace = dt.timedelta(seconds=settings.ORDER_LOOKUP_GRACE_SECONDS)
    if lookups >= 2 and order.sent_at and timezone.now() - order.sent_at >= grace:
        # No trace after the grace period: it never arrived. Send it again with
        # the same id (a late duplicate would be refused by the exchange).
        Order.objects.filter(pk=order.pk, status=Status.UNKNOWN).update(status=Status.PENDING)
        order.refresh_from_db()
    else:
        _retry_later(order)


def _search_open_and_trades(order: Order, api: Any) -> dict[str, Any] | None:
    # An exchange may list a new order in open orders or trades before fetch_order finds it.
    for candidate in api("fetch_open_orders", order.market):
        if candidate.get("clientOrderId") == order.client_order_id:
            return candidate
    for trade in api("fetch_my_trades", order.market, None, 50):
        info_id = (trade.get("info") or {}).get("clientOrderId")
        if info_id == order.client_order_id and trade.get("order"):
            return api("fetch_order", trade["order"], order.market)
    return None


def _retry_later(order: Order) -> None:
    Order.objects.filter(pk=order.pk).update(
        next_attempt_at=timezone.now() + dt.timedelta(seconds=settings.ORDER_LOOKUP_RETRY_SECONDS)
    )


def _rejected(order: Order, exc: Exception) -> None:
    message = {
        ccxt.InsufficientFunds: "The exchange account does not have enough funds for this order.",
    }.get(type(exc), f"The exchange refused the order ({type(exc).__name__}).")
    Order.objects.filter(pk=order.pk).update(status=Status.REJECTED, error=message)
    order.refresh_from_db()
    if order.decision_id:
        _fail(order.decision, "rejected", message)


def _key_failed(order: Order, exc: Exception) -> None:
    message = "The exchange refused the key (revoked, expired or lacking permission)."
    Order.objects.filter(pk=order.pk).update(status=Status.REJECTED, error=message)
    order.refresh_from_db()
    credential_mark_invalid(order.credential, reason=message)
    stopped = list(Bot.objects.filter(credential=order.credential, status=Bot.Status.ACTIVE))
    Bot.objects.filter(pk__in=[b.pk for b in stopped]).update(
        status=Bot.Status.ERROR, status_reason=message
    )
    if stopped:
        notify_user(
            user=order.bot.owner,
            subject="Bots stopped by an error",
            body=f"{message}\n\nStopped: {', '.join(b.name for b in stopped)}. "
            "Link a working key and resume them.",
        )
    if order.decision_id:
        _fail(order.decision, "key_refused", message)
