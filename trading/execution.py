"""From a signal to exactly one order, or to a recorded reason why not.

``execute`` sizes the order and writes it, with a client order id derived from
(bot, signal), under a lock on the bot row: two signals of one bot are sized
one after the other, each seeing what the other reserved, so the bot's
in-flight and filled buys never exceed its allocation and its sells never
exceed its position. The order is then handed to ``trading.orders.advance``,
which sends it exactly once (see there).

An exchange that cannot be reached before an order exists (outage, timeout,
5xx, clock refused) leaves the decision pending with a ``next_attempt_at``; the
sweeper tries again while the signal is fresh and records it as missed after.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from decimal import Decimal
from typing import Any

import ccxt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from strategies.models import Signal
from strategies.signing import CLOCK_SKEW, is_fresh, verify_signal
from strategies.sizing import MarketRules, Refusal, share_refusal, size_order
from trading import decisions, market_cache
from trading.decisions import decision_for
from trading.exchange_calls import MalformedReply, RateLimited, with_limits
from trading.models import Bot, Decision, Order
from trading.orders import advance, committed_elsewhere, reserved
from trading.sync import ticker_price
from vault.exchanges import placement_unavailable
from vault.models import CredentialUse, ExchangeCredential
from vault.services import CredentialUnusable, client_for

logger = logging.getLogger(__name__)
Outcome = Decision.Outcome
Status = Order.Status
# Errors that say nothing reached the exchange's matching engine: worth another try.
# (An unreadable market or ticker reply here is before any order exists.)
TRANSIENT = (ccxt.NetworkError, RateLimited, MalformedReply)

__all__ = ["check", "client_order_id", "decision_for", "execute"]


def client_order_id(bot_id: object, signal_id: object) -> str:
    """Deterministic, so a retry or a crash can never make a second order."""
    digest = hashlib.sha256(f"{bot_id}:{signal_id}".encode()).hexdigest()
    return f"oc{digest[:30]}"  # Binance allows 36 characters of [A-Za-z0-9_-]


# --- checks -----------------------------------------------------------------------------


def check(bot: Bot, signal: Any, *, signature_ok: bool | None = None) -> tuple[str, str] | None:
    """Why the signal must not be traded, or None. Cheapest checks first.

    ``signature_ok``: the signature already verified with the signal's strategy key
    (a batch verifies it once for all its bots)."""
    if bot.status != Bot.Status.ACTIVE:
        return "bot_inactive", f"The bot is {bot.get_status_display().lower()}."
    if bot.credential.status != ExchangeCredential.Status.ACTIVE:
        return "credential_inactive", "The bot's exchange key is not active."
    unavailable = placement_unavailable(bot.credential.exchange_id)
    if unavailable:
        return "placement_unavailable", f"Not traded: {unavailable}."
    if signal.strategy_id != bot.strategy_id:
        return "wrong_strategy", "The signal is not from this bot's strategy."
    if signature_ok is None:
        signature_ok = verify_signal(signal, bot.strategy.public_key)
    if not signature_ok:
        return "bad_signature", "The signal's signature does not verify with the strategy's key."
    if not is_fresh(signal):
        ahead = (signal.created_at - timezone.now()).total_seconds()
        if ahead > CLOCK_SKEW.total_seconds():
            # Not an old signal: a clock gone wrong (ours or the strategy host's), or a
            # forged date. Never traded, and never called "expired" to its owner.
            return "future", (
                f"The signal is dated {int(ahead)} s ahead of our clock, more than the "
                f"{int(CLOCK_SKEW.total_seconds())} s two clocks may differ: not traded."
            )
        return "stale", "The signal is older than its maximum age."
    if signal.market not in bot.markets:
        return "market_not_allowed", f"{signal.market} is not in the bot's market list."
    if signal.action == "hold":
        return "hold", "The strategy says hold."
    # Buy/sell shares in (0, 1], a target in [0, 1]: the sizing's own rule.
    refused = share_refusal(signal.action, Decimal(signal.fraction))
    return (refused.reason, refused.message) if refused else None


# --- the flow ---------------------------------------------------------------------------


def execute(bot_id: str | uuid.UUID, signal_id: str | uuid.UUID) -> Decision:
    """Turn one signal into at most one order for one bot; record the decision.

    Idempotent: running it again (a retry, a duplicate task, the sweeper)
    continues where the last run stopped and never places a second order.
    """
    bot = Bot.objects.select_related("credential", "strategy", "owner").get(pk=bot_id)
    signal = Signal.objects.select_related("strategy").get(pk=signal_id)
    decision = decision_for(bot, signal)
    if decision.outcome != Outcome.PENDING:
        return decision
    order = Order.objects.filter(decision=decision).first()
    if order is not None:
        return advance(order) or decision
    refusal = check(bot, signal)
    if refusal and refusal[0] == "stale" and decision.attempts:
        return decisions.fail(
            decision,
            "missed",
            "The signal expired before the exchange could be reached. "
            f"Last try: {decision.message or 'no answer'}",
        )
    if refusal:
        return decisions.ignore(decision, *refusal)
    try:
        client = client_for(
            bot.credential, purpose=CredentialUse.Purpose.TRADE, detail=signal.market
        )
    except CredentialUnusable as exc:
        return decisions.ignore(decision, "credential_inactive", str(exc))
    try:
        api = with_limits(client, bot.credential.exchange_id, bot.credential_id)
        # Orders of this account still in doubt are settled before a new one goes out.
        # One another worker is sending right now (it holds the claim) is in flight,
        # not in doubt: its reservation is counted, so siblings on a shared account
        # do not wait for it.
        in_doubt = Order.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now()),
            credential=bot.credential,
            status=Status.UNKNOWN,
        )
        doubtful = list(in_doubt)
        for earlier in doubtful:
            advance(earlier, api=api)
        if doubtful and in_doubt.exists():
            return decisions.retry_later(
                decision,
                settings.ORDER_LOOKUP_RETRY_SECONDS,
                "Waiting: an earlier order on this account is not confirmed yet.",
            )
        markets = api("load_markets")
        # One ticker per (exchange, market) serves every bot of the signal: one taken
        # after the signal was made, at most PRICE_SNAPSHOT_SECONDS old.
        since_signal = time.time() - signal.created_at.timestamp()
        ticker = market_cache.ticker_snapshot(
            bot.credential.exchange_id,
            signal.market,
            max(0.0, min(settings.PRICE_SNAPSHOT_SECONDS, since_signal)),
            client=client,
        )
        price = ticker_price(ticker)
    except (RateLimited, ccxt.BaseError) as exc:
        return setup_failed(decision, exc)
    market = markets.get(signal.market)
    refused = market_refusal(signal.market, market)
    if refused or market is None:
        return decisions.ignore(decision, *(refused or ("market_unknown", "")))
    placed = _place(bot, decision, signal, market, price)
    if isinstance(placed, Refusal):
        return decisions.ignore(decision, placed.reason, placed.message)
    return advance(placed, api=api) or decision


def market_refusal(name: str, market: dict[str, Any] | None) -> tuple[str, str] | None:
    """Why no order can go to this market of the exchange's list, or None."""
    if market is None:
        return "market_unknown", f"{name} is not traded on this exchange."
    if market.get("active") is False:
        # Halted or delisted (Binance status BREAK, HALT …): the exchange would refuse the
        # order, or worse, a market reopening after a halt would take it at any price.
        return "market_closed", f"{name} is not trading on the exchange now (halted or delisted)."
    return None


def setup_failed(decision: Decision, exc: Exception) -> Decision:
    """The exchange could not be read before an order existed: wait, or give up."""
    if isinstance(exc, RateLimited):
        return decisions.retry_later(
            decision, exc.retry_after, "Waiting for the exchange's rate limit."
        )
    if isinstance(exc, TRANSIENT):
        return decisions.retry_later(
            decision,
            settings.DECISION_RETRY_SECONDS,
            f"The exchange did not answer ({type(exc).__name__}); trying again.",
        )
    return decisions.fail(
        decision, "exchange_error", f"Could not read the market: {type(exc).__name__}."
    )


def _place(
    bot: Bot, decision: Decision, signal: Any, market: dict[str, Any], price: Decimal
) -> Order | Refusal:
    """Size and write the order under the bot's lock; the existing one if there is one."""
    fee_rate = Decimal(str(market.get("taker") or settings.ORDER_FEE_RATE))
    buffer = Decimal(settings.ORDER_PRICE_BUFFER)
    try:
        with transaction.atomic():
            # One sizing at a time per bot (a row lock; SQLite's IMMEDIATE transactions
            # serialise every writer already).
            locked = Bot.objects.select_for_update().get(pk=bot.pk)
            existing = Order.objects.filter(decision=decision).first()
            if existing is not None:
                return existing
            reserved_cash, reserved_base = reserved(locked, market=signal.market)
            positions = {held.market: held for held in locked.positions.all()}
            position = positions.pop(signal.market, None)
            sized = size_order(
                side=signal.action,
                fraction=Decimal(signal.fraction),
                capital=locked.allocation,
                cash=locked.cash - reserved_cash,
                held=(position.amount if position else Decimal(0)) - reserved_base,
                price=price,
                fee_rate=fee_rate,
                rules=MarketRules.from_ccxt(market),
                # A buy (also a target's) reserves for a fill up to the buffer above price.
                buy_markup=buffer,
                cost=signal.cost,
                sleeves=len(locked.markets),
                committed=committed_elsewhere(reserved_cash, positions.values()),
            )
            if isinstance(sized, Refusal):
                return sized
            return Order.objects.create(
                bot=locked,
                decision=decision,
                credential_id=locked.credential_id,
                exchange_id=bot.credential.exchange_id,
                market=signal.market,
                side=sized.side,  # a target's buy or sell
                type="market",
                amount=sized.amount,
                price=price,
                reserved=sized.reserve,
                client_order_id=client_order_id(bot.pk, signal.pk),
            )
    except IntegrityError:  # a duplicate task wrote it between our check and insert
        return Order.objects.get(decision=decision)
