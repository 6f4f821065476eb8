"""Fills reported by the trading side, turned into each signal's realised outcome.

Every fill of any bot acting on a signal is added to that signal's outcome
(amount, notional, fees, average price). A buy's outcome closes at the next
filled sell signal of the same strategy and market, and a sell's at the next
filled buy; its realised return is then

    direction * (exit price / entry price - 1) - entry fee rate - exit fee rate

with direction +1 for a buy and -1 for a sell (what staying out earned).
Fees are taken to be in the quote currency.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q

from strategies.models import (
    PRICE_PLACES,
    RATIO_PLACES,
    Signal,
    SignalFill,
    SignalOutcome,
    Strategy,
)

RETURN_STEP = Decimal(1).scaleb(-RATIO_PLACES)
PRICE_STEP = Decimal(1).scaleb(-PRICE_PLACES)
ORDER_REF_LENGTH = 64
OPPOSITE: dict[str, str] = {
    Signal.Action.BUY: Signal.Action.SELL,
    Signal.Action.SELL: Signal.Action.BUY,
}


class FillRejected(ValueError):
    """A reported fill that cannot belong to the signal it names."""


def _positive(name: str, value: Any, *, zero_ok: bool = False) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise FillRejected(f"{name} must be a finite Decimal")
    try:
        value = value.quantize(PRICE_STEP)
    except InvalidOperation:
        raise FillRejected(f"{name} is too large") from None
    if value < 0 or (value == 0 and not zero_ok):
        raise FillRejected(f"{name} must be {'zero or more' if zero_ok else 'positive'}")
    return value


def realised_return(entry: SignalOutcome, exit_: SignalOutcome) -> Decimal:
    direction = Decimal(1) if entry.side == Signal.Action.BUY else Decimal(-1)
    move = exit_.average_price / entry.average_price - 1
    value = direction * move - entry.fee_rate - exit_.fee_rate
    return value.quantize(RETURN_STEP)


def _close(entry: SignalOutcome, exit_: SignalOutcome) -> None:
    entry.closed_by_id = exit_.signal_id
    entry.exit_price = exit_.average_price
    entry.realised_return = realised_return(entry, exit_)
    entry.save(update_fields=["closed_by", "exit_price", "realised_return", "updated_at"])


def _link(outcome: SignalOutcome, period: datetime) -> None:
    """Close what this outcome closes, and close it if a later opposite fill exists."""
    same_market = SignalOutcome.objects.filter(
        strategy_id=outcome.strategy_id, market=outcome.market
    ).select_related("signal")
    opposite = same_market.filter(side=OPPOSITE[outcome.side])
    if outcome.closed_by_id is None:
        closer = opposite.filter(signal__period__gt=period).order_by("signal__period").first()
        if closer is not None:
            _close(outcome, closer)
    # Earlier entries still open, or closed by a later signal than this one.
    reopened = Q(closed_by__isnull=True) | Q(closed_by__period__gt=period)
    for entry in opposite.filter(reopened, signal__period__lt=period):
        _close(entry, outcome)
    # This outcome's average moved: returns it already closed follow.
    for entry in same_market.filter(closed_by_id=outcome.signal_id):
        _close(entry, outcome)
    if outcome.closed_by_id is not None:
        _close(outcome, SignalOutcome.objects.get(signal_id=outcome.closed_by_id))


def record_fill(
    *,
    signal_id: Any,
    side: str,
    amount: Decimal,
    price: Decimal,
    fee: Decimal,
    filled_at: datetime,
    fill_id: str = "",
    order_ref: str = "",
    ordered_amount: Decimal | None = None,
) -> SignalOutcome:
    """Add one fill (of any bot) to its signal's outcome and re-link realised returns.

    ``fill_id`` (the exchange's trade id), when given, makes a repeated report of
    the same fill a no-op. ``order_ref`` and ``ordered_amount`` (the order's
    id and the amount it asked for) let the fill ratio be measured
    (``selectors.fill_quality``). Raises FillRejected for an unknown signal, a side
    that is not the signal's action, a non-positive amount or price, a negative
    fee, or a naive ``filled_at``.
    """
    (outcome,) = record_fills(
        [
            {
                "signal_id": signal_id,
                "side": side,
                "amount": amount,
                "price": price,
                "fee": fee,
                "filled_at": filled_at,
                "fill_id": fill_id,
                "order_ref": order_ref,
                "ordered_amount": ordered_amount,
            }
        ]
    )
    return outcome


def _validated(report: dict[str, Any]) -> dict[str, Any]:
    side = report["side"]
    if side not in OPPOSITE:
        raise FillRejected("side must be buy or sell")
    checked = {
        "side": side,
        "amount": _positive("amount", report["amount"]),
        "price": _positive("price", report["price"]),
        "fee": _positive("fee", report["fee"], zero_ok=True),
        "ordered_amount": report.get("ordered_amount"),
        "order_ref": report.get("order_ref") or "",
        "fill_id": report.get("fill_id") or "",
        "filled_at": report["filled_at"],
    }
    if checked["ordered_amount"] is not None:
        checked["ordered_amount"] = _positive("ordered_amount", checked["ordered_amount"])
    if len(checked["order_ref"]) > ORDER_REF_LENGTH:
        raise FillRejected(f"order_ref must be at most {ORDER_REF_LENGTH} characters")
    filled_at = checked["filled_at"]
    if not isinstance(filled_at, datetime) or filled_at.tzinfo is None:
        raise FillRejected("filled_at must be an aware datetime")
    return checked


@transaction.atomic
def record_fills(reports: list[dict[str, Any]]) -> list[SignalOutcome]:
    """``record_fill`` for many fills at once: the outcome of each signal, in order.

    One lock per strategy (not per fill), one insert for all new fills, one save
    and one re-link per signal: a thousand bots' fills of one signal are one
    short transaction instead of a thousand queued on the strategy row. The
    figures equal those of recording the fills one by one. Raises FillRejected
    (nothing recorded) as ``record_fill`` does.
    """
    checked = [(report["signal_id"], _validated(report)) for report in reports]
    found = Signal.objects.filter(pk__in={signal_id for signal_id, _ in checked})
    signals = {str(signal.pk): signal for signal in found}
    by_signal: dict[str, list[dict[str, Any]]] = {}
    for signal_id, fill in checked:
        signal = signals.get(str(signal_id))
        if signal is None:
            raise FillRejected(f"no signal {signal_id}")
        if signal.action != fill["side"] and signal.action != Signal.Action.TARGET:
            raise FillRejected(f"a {fill['side']} fill cannot belong to a {signal.action} signal")
        by_signal.setdefault(str(signal.pk), []).append(fill)
    # Outcomes of one strategy close each other, so its fills take turns: locks
    # always in the same order, so two batches never wait on each other crosswise.
    strategies = Strategy.objects.select_for_update().filter(
        pk__in={signal.strategy_id for signal in signals.values()}
    )
    list(strategies.order_by("pk").values_list("pk", flat=True))
    return [_add_fills(signals[pk], fills) for pk, fills in by_signal.items()]


def _add_fills(signal: Signal, fills: list[dict[str, Any]]) -> SignalOutcome:
    ids = [f["fill_id"] for f in fills if f["fill_id"]]
    known = set(
        SignalFill.objects.filter(signal=signal, fill_id__in=ids).values_list("fill_id", flat=True)
    )
    new: list[dict[str, Any]] = []
    for fill in fills:
        if fill["fill_id"] and fill["fill_id"] in known:
            continue  # reported before (or twice in this batch)
        if fill["fill_id"]:
            known.add(fill["fill_id"])
        new.append(fill)
    outcome = SignalOutcome.objects.filter(signal=signal).first()
    if new:
        SignalFill.objects.bulk_create([SignalFill(signal=signal, **fill) for fill in new])
    if signal.action == Signal.Action.TARGET and new:
        # A target is a buy for a bot below it and a sell for one above: its
        # outcome follows the side of its first fill (the others are stored, and
        # count in the fill quality, but not in this outcome's average price).
        side = outcome.side if outcome is not None else new[0]["side"]
        new = [fill for fill in new if fill["side"] == side]
    if not new:
        if outcome is None:
            raise FillRejected(f"no outcome for signal {signal.pk}")
        return outcome
    if outcome is None:
        outcome = SignalOutcome(
            signal=signal,
            strategy_id=signal.strategy_id,
            market=signal.market,
            side=new[0]["side"],
            first_filled_at=new[0]["filled_at"],
            last_filled_at=new[0]["filled_at"],
        )
    for fill in new:
        outcome.fills += 1
        outcome.amount += fill["amount"]
        outcome.notional = (outcome.notional + fill["amount"] * fill["price"]).quantize(PRICE_STEP)
        outcome.fees += fill["fee"]
        outcome.average_price = (outcome.notional / outcome.amount).quantize(PRICE_STEP)
        outcome.first_filled_at = min(outcome.first_filled_at, fill["filled_at"])
        outcome.last_filled_at = max(outcome.last_filled_at, fill["filled_at"])
    outcome.save()
    _link(outcome, signal.period)
    return outcome
