"""After an order: read it back with its fills and the balances, and redo the books."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import ccxt
from django.db import IntegrityError, transaction
from django.utils import timezone

from trading.events import push_to_user
from trading.models import Balance, Bot, Decision, Fill, Order, Position
from trading.pnl import Book, FillEvent, apply_fill, mark_to_market, unrealised_pnl

logger = logging.getLogger(__name__)
Status = Order.Status


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def sync_order(order: Order, api: Any) -> None:
    """Fetch the order, its trades and the balances; store them; recompute the bot.

    Safe to repeat: fills are unique on the exchange's trade id.
    """
    if order.exchange_order_id:
        reply = api("fetch_order", order.exchange_order_id, order.market)
    else:
        reply = api("fetch_order", None, order.market, {"clientOrderId": order.client_order_id})
    from trading.execution import _apply_reply

    _apply_reply(order, reply)
    trades = api("fetch_my_trades", order.market, None, 100)
    new_fills = _store_fills(
        order, [t for t in trades if str(t.get("order")) == order.exchange_order_id]
    )
    _store_balances(order, api("fetch_balance"))
    _settle_vanished_open_orders(order, api("fetch_open_orders", order.market))
    try:
        price = _decimal(api("fetch_ticker", order.market)["last"])
    except ccxt.BaseError:
        price = order.average or order.price or Decimal(0)
    with transaction.atomic():
        rebuild_book(order.bot, {order.market: price})
        _settle_decision(order)
    for fill in new_fills:
        _report_to_strategy(order, fill)
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


def _store_fills(order: Order, trades: list[dict[str, Any]]) -> list[Fill]:
    created = []
    for trade in trades:
        fee = trade.get("fee") or {}
        try:
            with transaction.atomic():
                fill = Fill.objects.create(
                    order=order,
                    credential_id=order.credential_id,
                    trade_id=str(trade["id"]),
                    amount=_decimal(trade.get("amount")),
                    price=_decimal(trade.get("price")),
                    fee=_decimal(fee.get("cost")),
                    fee_currency=str(fee.get("currency") or ""),
                    taken_at=dt.datetime.fromtimestamp(int(trade["timestamp"]) / 1000, tz=dt.UTC),
                )
        except IntegrityError:
            continue  # already stored by an earlier sync
        except (KeyError, TypeError, ValueError):
            logger.warning("Skipping a malformed trade of order %s", order.pk)
            continue
        created.append(fill)
    return created


def _settle_vanished_open_orders(order: Order, open_orders: list[dict[str, Any]]) -> None:
    """Our orders the exchange no longer lists as open get a lookup from the sweeper."""
    listed = {str(o.get("id")) for o in open_orders}
    Order.objects.filter(
        credential_id=order.credential_id, market=order.market, status=Status.OPEN
    ).exclude(exchange_order_id__in=listed).exclude(pk=order.pk).update(status=Status.UNKNOWN)


def _store_balances(order: Order, balance: dict[str, Any]) -> None:
    now = timezone.now()
    for currency, row in balance.items():
        if (
            not isinstance(row, dict)
            or "total" not in row
            or currency in ("info", "free", "used", "total")
        ):
            continue
        Balance.objects.update_or_create(
            credential_id=order.credential_id,
            currency=currency,
            defaults={
                "free": _decimal(row.get("free")),
                "used": _decimal(row.get("used")),
                "total": _decimal(row.get("total")),
                "synced_at": now,
            },
        )


def rebuild_book(bot: Bot, prices: dict[str, Decimal]) -> Book:
    """Replay every fill of the bot in order; store positions and totals."""
    bot = Bot.objects.select_for_update().get(pk=bot.pk)
    book = Book(cash=bot.allocation, peak_equity=max(bot.peak_equity, bot.allocation))
    book.max_drawdown = bot.max_drawdown
    fills = Fill.objects.filter(order__bot=bot).select_related("order").order_by("taken_at", "id")
    for fill in fills:
        apply_fill(
            book,
            FillEvent(
                market=fill.order.market,
                side=fill.order.side,
                amount=fill.amount,
                price=fill.price,
                fee=fill.fee,
                fee_currency=fill.fee_currency,
            ),
        )
    held = {m: p for m, p in book.positions.items() if p.amount}
    marks = {m: prices.get(m) or p.avg_entry for m, p in held.items()}
    mark_to_market(book, marks)
    for market, position in book.positions.items():
        Position.objects.update_or_create(
            bot=bot,
            market=market,
            defaults={"amount": position.amount, "avg_entry": position.avg_entry},
        )
    Bot.objects.filter(pk=bot.pk).update(
        cash=book.cash,
        realised_pnl=book.realised_pnl,
        unrealised_pnl=unrealised_pnl(book, marks),
        fees_paid=book.fees_paid,
        equity=book.cash + sum((p.amount * marks[m] for m, p in held.items()), Decimal(0)),
        peak_equity=book.peak_equity,
        max_drawdown=book.max_drawdown,
        marked_at=timezone.now(),
    )
    return book


def _settle_decision(order: Order) -> None:
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
    if outcome:
        Decision.objects.filter(pk=order.decision_id, outcome=Decision.Outcome.PENDING).update(
            outcome=outcome, reason=reason, message=message, decided_at=timezone.now()
        )


def _report_to_strategy(order: Order, fill: Fill) -> None:
    if not order.decision_id:
        return
    from strategies.feedback import record_fill

    try:
        record_fill(
            signal_id=order.decision.signal_id,
            side=order.side,
            amount=fill.amount,
            price=fill.price,
            fee=fill.fee,
            filled_at=fill.taken_at,
            fill_id=fill.trade_id,
            order_ref=str(order.pk),
            ordered_amount=order.amount,
        )
    except Exception:  # feedback must never undo a recorded trade
        logger.warning("Could not report fill %s to the strategy", fill.pk, exc_info=True)
