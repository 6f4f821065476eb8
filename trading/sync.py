"""The books after an order: its fills, the account's balances, the bot's positions.

Called by ``trading.orders`` (which reads the exchange); nothing here talks to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from strategies.feedback import record_fills
from trading import fees
from trading.decisions import decide
from trading.exchange_calls import MalformedReply
from trading.models import Balance, Bot, Decision, Fill, Order, Position
from trading.pnl import Book, FillEvent, apply_fill, mark_to_market, unrealised_pnl

logger = logging.getLogger(__name__)
Status = Order.Status


# A money column holds 30 digits, 12 of them after the point (trading.models.money_field).
MAX_WHOLE_DIGITS = 18


def decimal_of(value: Any) -> Decimal:
    """A figure of an exchange reply as a Decimal; missing (None, "") is 0.

    Raises ValueError for anything a money column cannot hold: a word, NaN,
    Infinity, or a number too large (ccxt passes such values through as floats
    or strings, and Decimal would take NaN and Infinity without a word).
    """
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{str(value)[:40]!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{str(value)[:40]!r} is not a finite number")
    if number and number.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValueError(f"{str(value)[:40]!r} is too large")
    return number


def amount_of(value: Any) -> Decimal:
    """``decimal_of`` for a quantity, cost or price: also ValueError when negative."""
    number = decimal_of(value)
    if number < 0:
        raise ValueError(f"{str(value)[:40]!r} is negative")
    return number


def ticker_price(ticker: Any) -> Decimal:
    """The last price of a ccxt ticker; 0 when it has none (sizing then says so).

    Raises MalformedReply when it is not a number (NaN, Infinity, a word): an
    unreadable reply, tried again like an outage before any order exists."""
    try:
        return decimal_of(ticker.get("last") if isinstance(ticker, dict) else None)
    except ValueError as exc:
        raise MalformedReply(f"the ticker's last price: {exc}") from None


# No trade is dated this late: a reply that says so (9999-12-31, say) is garbled, and
# such a time overflows into the year 10000 wherever it is shown east of UTC.
LATEST_TRADE_TIME = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def fill_of(order: Order, trade: Any) -> Fill:
    """The unsaved Fill of one ccxt trade of ``order``.

    Raises ValueError when the trade cannot be a fill: another market's, no id or
    time, an amount or price that is not above 0, a fee that is not a finite number.
    """
    if not isinstance(trade, dict) or trade.get("id") in (None, ""):
        raise ValueError("a trade without an id")
    if trade.get("symbol") not in (None, order.market):
        raise ValueError("a trade of another market")
    trade_id = str(trade["id"])
    if len(trade_id) > Fill._meta.get_field("trade_id").max_length:  # type: ignore[operator]
        raise ValueError("a trade id too long to be one")
    amount, price = amount_of(trade.get("amount")), amount_of(trade.get("price"))
    if not amount or not price:
        raise ValueError(f"a trade of {amount} at {price}")
    fee = trade.get("fee") or {}
    if not isinstance(fee, dict):
        raise ValueError("a fee that is not a cost and a currency")
    try:
        stamp = int(trade["timestamp"])
        taken_at = dt.datetime.fromtimestamp(stamp / 1000, tz=dt.UTC)
    except (KeyError, TypeError, OverflowError, OSError):
        raise ValueError("a trade without a time") from None
    if stamp <= 0 or taken_at >= LATEST_TRADE_TIME:
        raise ValueError("a trade without a time")
    return Fill(
        order=order,
        bot_id=order.bot_id,
        credential_id=order.credential_id,
        trade_id=trade_id,
        amount=amount,
        price=price,
        fee=decimal_of(fee.get("cost")),
        fee_currency=str(fee.get("currency") or "")[:20],
        taken_at=taken_at,
    )


def store_fills(order: Order, trades: list[dict[str, Any]]) -> list[Fill]:
    """Store the order's trades; safe to repeat (fills are unique on the trade id).

    A trade that cannot be a fill (``fill_of``) is skipped with a warning: the
    order's stored fills then fall short of its filled amount, so it is not
    settled and is synced again until the exchange answers sanely.
    """
    created, readable = [], []
    for trade in trades:
        try:
            readable.append(fill_of(order, trade))
        except ValueError as exc:
            logger.warning("Skipping a malformed trade of order %s: %s", order.pk, exc)
    pairs = fees.fee_pairs(order.market, {f.fee_currency for f in readable if f.fee})
    if pairs:
        exchange_id = order.credential.exchange_id
        fees.value_fees(order, readable, fees.fee_prices(exchange_id, pairs))
    for fill in readable:
        try:
            with transaction.atomic():
                fill.save()
        except IntegrityError:
            continue  # already stored by an earlier sync
        created.append(fill)
    return created


def settle_vanished_open_orders(order: Order, open_orders: list[dict[str, Any]]) -> None:
    """Our orders the exchange no longer lists as open get a lookup from the sweeper."""
    listed = {str(o.get("id")) for o in open_orders}
    Order.objects.filter(
        credential_id=order.credential_id, market=order.market, status=Status.OPEN
    ).exclude(exchange_order_id__in=listed).exclude(pk=order.pk).update(
        status=Status.UNKNOWN, settled=False, updated_at=timezone.now()
    )


def store_balances(
    credential_id: UUID, balance: dict[str, Any], *, read_at: dt.datetime | None = None
) -> None:
    """Store an account's balances reply, dated ``read_at`` (when it was asked for;
    default now): a fill newer than that makes the account due for another read."""
    now = read_at or timezone.now()
    for currency, row in balance.items():
        if (
            not isinstance(row, dict)
            or "total" not in row
            or currency in ("info", "free", "used", "total")
            or len(currency) > 20  # not an asset code (the column holds 20)
        ):
            continue
        try:
            figures = {name: amount_of(row.get(name)) for name in ("free", "used", "total")}
        except ValueError as exc:  # the last good figures stay
            logger.warning("Skipping the odd %s balance of %s: %s", currency, credential_id, exc)
            continue
        Balance.objects.update_or_create(
            credential_id=credential_id,
            currency=currency,
            defaults={**figures, "synced_at": now},
        )
    # The reply is the whole account: an asset it no longer lists is no longer held.
    Balance.objects.filter(credential_id=credential_id).exclude(currency__in=list(balance)).delete()


def _event(fill: Fill) -> FillEvent:
    return FillEvent(
        market=fill.order.market,
        side=fill.order.side,
        amount=fill.amount,
        price=fill.price,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        fee_value=fill.fee_value,
    )


def unvalued_fees_of(bot: Bot) -> dict[str, Decimal]:
    return {currency: Decimal(amount) for currency, amount in (bot.unvalued_fees or {}).items()}


def stored_unvalued_fees(book: Book) -> dict[str, str]:
    """As the JSON column holds them: plain decimal strings, no float rounding."""
    return {c: format(amount, "f") for c, amount in sorted(book.unvalued_fees.items()) if amount}


def _stored_book(bot: Bot, positions: list[Position]) -> Book:
    """The book as last stored: the starting point for fills not booked yet."""
    book = Book(
        cash=bot.cash,
        realised_pnl=bot.realised_pnl,
        fees_paid=bot.fees_paid,
        peak_equity=max(bot.peak_equity, bot.allocation),
        max_drawdown=bot.max_drawdown,
        unvalued_fees=unvalued_fees_of(bot),
    )
    for position in positions:
        book.position(position.market).amount = position.amount
        book.positions[position.market].avg_entry = position.avg_entry
    return book


def rebuild_book(bot: Bot, prices: dict[str, Decimal]) -> Book:
    """Replay every fill of the bot in order; store positions and totals."""
    bot = Bot.objects.select_for_update().get(pk=bot.pk)
    return _replay(bot, list(_in_order(Fill.objects.filter(bot=bot))), prices)


def _in_order(fills: QuerySet[Fill]) -> QuerySet[Fill]:
    return fills.select_related("order").order_by("taken_at", "id")


def _replay(bot: Bot, fills: list[Fill], prices: dict[str, Decimal]) -> Book:
    book = Book(cash=bot.allocation, peak_equity=max(bot.peak_equity, bot.allocation))
    book.max_drawdown = bot.max_drawdown
    for fill in fills:
        apply_fill(book, _event(fill))
    # Exactly the fills applied: one stored meanwhile by another order's sync stays new.
    _mark_booked([f.pk for f in fills if not f.booked])
    return _store_book(bot, book, prices, list(bot.positions.all()))


def _mark_booked(fill_ids: list[int]) -> None:
    for start in range(0, len(fill_ids), 500):
        Fill.objects.filter(pk__in=fill_ids[start : start + 500]).update(booked=True)


def update_book(bot: Bot, prices: dict[str, Decimal]) -> Book:
    """Apply only the fills not booked yet to the stored book; store it.

    Equal to ``rebuild_book`` (a replay of all fills) and O(new fills), so a bot
    with years of fills syncs as fast as a new one. Replays instead when a new
    fill is older than a booked one (the average-cost method depends on the
    order of buys and sells); with nothing booked yet the new fills are all.
    """
    bot = Bot.objects.select_for_update().get(pk=bot.pk)
    fills = Fill.objects.filter(bot=bot)
    new = list(_in_order(fills.filter(booked=False)))
    last = fills.filter(booked=True).order_by("-taken_at", "-id").values("taken_at", "id").first()
    if last is None:
        return _replay(bot, new, prices)
    if new and (new[0].taken_at, new[0].pk) < (last["taken_at"], last["id"]):
        return _replay(bot, list(_in_order(fills)), prices)
    positions = list(bot.positions.all())
    book = _stored_book(bot, positions)
    for fill in new:
        apply_fill(book, _event(fill))
    _mark_booked([f.pk for f in new])
    return _store_book(bot, book, prices, positions)


def mark_book(bot_id: UUID, prices: dict[str, Decimal]) -> bool:
    """Value a bot's held positions at ``prices`` (market -> price) between trades.

    Under the bot's row lock, like every booking: a sync booking fills meanwhile
    waits, then books from what this stored. Positions without a price keep their
    last mark. Returns False for a bot that is gone or holds nothing priced.
    """
    with transaction.atomic():
        bot = Bot.objects.select_for_update().filter(pk=bot_id).first()
        if bot is None:
            return False
        positions = list(bot.positions.all())
        priced = {
            p.market: prices[p.market] for p in positions if p.amount and prices.get(p.market)
        }
        if not priced:
            return False
        _store_book(bot, _stored_book(bot, positions), priced, positions)
        return True


def marks_of(
    book: Book, prices: dict[str, Decimal], positions: list[Position], now: dt.datetime
) -> dict[str, tuple[Decimal, dt.datetime]]:
    """The price each held market of ``book`` is valued at, and that price's time.

    The price given (of the order just synced), else the position's last mark, so a
    market not traded now keeps its value rather than dropping back to its entry;
    else its average entry (never priced yet: no gain or loss claimed).
    """
    stored = {p.market: p for p in positions}
    marks = {}
    for market, position in book.positions.items():
        if not position.amount:
            continue
        row = stored.get(market)
        if prices.get(market):
            marks[market] = (prices[market], now)
        elif row is not None and row.mark_price and row.marked_at is not None:
            marks[market] = (row.mark_price, row.marked_at)
        else:
            marks[market] = (position.avg_entry, now)
    return marks


def _store_book(
    bot: Bot, book: Book, prices: dict[str, Decimal], positions: list[Position]
) -> Book:
    held = {m: p for m, p in book.positions.items() if p.amount}
    now = timezone.now()
    marked = marks_of(book, prices, positions, now)
    marks = {m: price for m, (price, _) in marked.items()}
    mark_to_market(book, marks)
    stored = {p.market: p for p in positions}
    for market, position in book.positions.items():
        row = stored.get(market)
        # Each held position keeps the price the bot's totals below were marked with;
        # a closed one keeps its last (nothing shows it).
        price, at = marked.get(market, (None, None))
        mark = {} if price is None else {"mark_price": price, "marked_at": at}
        if row is None:
            Position.objects.create(
                bot=bot,
                market=market,
                amount=position.amount,
                avg_entry=position.avg_entry,
                **mark,
            )
        elif (row.amount, row.avg_entry) != (position.amount, position.avg_entry) or (
            mark and (row.mark_price, row.marked_at) != (price, at)
        ):
            Position.objects.filter(pk=row.pk).update(
                amount=position.amount, avg_entry=position.avg_entry, **mark
            )
    Bot.objects.filter(pk=bot.pk).update(
        cash=book.cash,
        realised_pnl=book.realised_pnl,
        unrealised_pnl=unrealised_pnl(book, marks),
        fees_paid=book.fees_paid,
        unvalued_fees=stored_unvalued_fees(book),
        equity=book.cash + sum((p.amount * marks[m] for m, p in held.items()), Decimal(0)),
        peak_equity=book.peak_equity,
        max_drawdown=book.max_drawdown,
        marked_at=now,
    )
    return book


def settle_decision(order: Order) -> None:
    """Executed once anything was placed (also after a lookup gave up); failed if unfilled."""
    if not order.decision_id:
        return
    outcome, reason, message = None, "", ""
    if order.status in (Status.OPEN, Status.CLOSED) or order.filled > 0:
        outcome, reason = Decision.Outcome.EXECUTED, "placed"
        message = f"{order.side} {order.filled or order.amount} {order.market}"
    elif order.status in (Status.CANCELED, Status.EXPIRED):
        outcome, reason, message = (
            Decision.Outcome.FAILED,
            "unfilled",
            "The order ended without a fill.",
        )
    if outcome and order.decision is not None:
        decide(order.decision, outcome, reason, message, also_from="unconfirmed")


_deferred = threading.local()


@contextlib.contextmanager
def feedback_deferred() -> Iterator[list[dict[str, Any]]]:
    """Collect this thread's fill reports instead of recording each one.

    The fast path records them per batch (``strategies.feedback.record_fills``):
    one lock on the strategy row per batch instead of one per fill.
    """
    reports: list[dict[str, Any]] = []
    _deferred.reports = reports
    try:
        yield reports
    finally:
        _deferred.reports = None


def fill_report(order: Order, fill: Fill) -> dict[str, Any]:
    """A fill as its strategy's feedback records it (``strategies.feedback``)."""
    return {
        "signal_id": order.decision.signal_id if order.decision else None,
        "side": order.side,
        "amount": fill.amount,
        "price": fill.price,
        "fee": fill.fee,
        "filled_at": fill.taken_at,
        "fill_id": fill.trade_id,
        "order_ref": str(order.pk),
        "ordered_amount": order.amount,
    }


def report_to_strategy(order: Order, fill: Fill) -> None:
    if order.decision is None:
        return
    report = fill_report(order, fill)
    reports = getattr(_deferred, "reports", None)
    if reports is not None:
        reports.append(report)
        return
    record_reports([report])


def record_reports(reports: list[dict[str, Any]]) -> None:
    """Add fills to their signals' outcomes; never undoes a recorded trade."""
    if not reports:
        return
    try:
        record_fills(reports)
    except Exception:  # feedback must never undo a recorded trade
        logger.warning("Could not report %d fills to the strategy", len(reports), exc_info=True)
