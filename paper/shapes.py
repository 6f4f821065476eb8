"""Paper records as ccxt's unified structures (floats where ccxt has floats)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import ccxt

from paper.markets import MarketSpec
from paper.models import PaperBalance, PaperOrder, PaperTrade
from paper.prices import Candle


def ms(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


def iso(when: datetime | None) -> str | None:
    stamp = ms(when)
    return None if stamp is None else ccxt.Exchange.iso8601(stamp)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def trade(record: PaperTrade) -> dict[str, Any]:
    fee = {
        "cost": float(record.fee),
        "currency": record.fee_currency,
        "rate": float(record.fee / record.cost) if record.cost else None,
    }
    return {
        "info": {"id": str(record.pk), "orderId": str(record.order_id), "isMaker": record.is_maker},
        "id": str(record.pk),
        "order": str(record.order_id),
        "timestamp": ms(record.executed_at),
        "datetime": iso(record.executed_at),
        "symbol": record.symbol,
        "type": str(record.order.type),
        "side": str(record.side),
        "takerOrMaker": "maker" if record.is_maker else "taker",
        "price": float(record.price),
        "amount": float(record.amount),
        "cost": float(record.cost),
        "fee": fee,
        "fees": [fee],
    }


def order(record: PaperOrder, trades: Iterable[PaperTrade] = ()) -> dict[str, Any]:
    average = record.cost / record.filled if record.filled else None
    fee = {"cost": float(record.fee), "currency": record.fee_currency}
    return {
        "info": {
            "id": str(record.pk),
            "clientOrderId": record.client_order_id,
            "status": str(record.status),
        },
        "id": str(record.pk),
        "clientOrderId": record.client_order_id,
        "timestamp": ms(record.created_at),
        "datetime": iso(record.created_at),
        "lastTradeTimestamp": ms(record.last_trade_at),
        "lastUpdateTimestamp": ms(record.updated_at),
        "symbol": record.symbol,
        "type": str(record.type),
        "timeInForce": "GTC",
        "postOnly": False,
        "reduceOnly": None,
        "side": str(record.side),
        # As ccxt does for market orders, the price shown is the average fill price.
        "price": _float(record.price if record.price is not None else average),
        "triggerPrice": None,
        "stopPrice": None,
        "takeProfitPrice": None,
        "stopLossPrice": None,
        "amount": float(record.amount),
        "cost": float(record.cost),
        "average": _float(average),
        "filled": float(record.filled),
        "remaining": float(record.remaining),
        "status": str(record.status),
        "fee": fee,
        "fees": [fee],
        "trades": [trade(t) for t in trades],
    }


def balance(rows: Iterable[PaperBalance], now: datetime) -> dict[str, Any]:
    result: dict[str, Any] = {
        "info": {},
        "timestamp": ms(now),
        "datetime": iso(now),
        "free": {},
        "used": {},
        "total": {},
    }
    for row in rows:
        entry = {"free": float(row.free), "used": float(row.used), "total": float(row.total)}
        result["info"][row.asset] = {"free": str(row.free), "used": str(row.used)}
        result[row.asset] = entry
        for key, value in entry.items():
            result[key][row.asset] = value
    return result


def ticker(spec: MarketSpec, last: Candle, day: Candle, now: datetime) -> dict[str, Any]:
    # A quoted spread of half a basis point each side, at least one tick.
    half_spread = max(spec.tick_size, (last.close * Decimal("0.00005")).quantize(spec.tick_size))
    change = last.close - day.open
    typical = (day.high + day.low + last.close) / 3
    return {
        "symbol": spec.symbol,
        "timestamp": ms(now),
        "datetime": iso(now),
        "high": float(day.high),
        "low": float(day.low),
        "bid": float(last.close - half_spread),
        "bidVolume": None,
        "ask": float(last.close + half_spread),
        "askVolume": None,
        "vwap": float(typical.quantize(spec.tick_size)),
        "open": float(day.open),
        "close": float(last.close),
        "last": float(last.close),
        "previousClose": None,
        "change": float(change),
        "percentage": float((change / day.open * 100).quantize(Decimal("0.001"))),
        "average": float(((day.open + last.close) / 2).quantize(spec.tick_size)),
        "baseVolume": float(day.volume),
        "quoteVolume": float((day.volume * typical).quantize(Decimal("0.01"))),
        "info": {"symbol": spec.id},
    }
