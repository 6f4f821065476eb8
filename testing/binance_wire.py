"""Paper records and markets in Binance spot REST shapes (what the emulator sends).

Field names, string-encoded decimals and enums follow Binance's spot API so
ccxt's Binance parser reads them as it reads the real thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from paper import prices
from paper.config import PaperConfig
from paper.markets import MARKETS, MarketSpec
from paper.models import PaperBalance, PaperOrder, PaperTrade

EIGHT = Decimal("0.00000001")
ORDER_STATUS = {
    PaperOrder.Status.CANCELED: "CANCELED",
    PaperOrder.Status.EXPIRED: "EXPIRED",
    PaperOrder.Status.CLOSED: "FILLED",
}


def num(value: Decimal | int | None) -> str:
    """Binance's decimal strings: eight places."""
    return f"{Decimal(value or 0).quantize(EIGHT):f}"


def ms(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


def error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "msg": message}


def rate_limits(*, weight: int, orders_10s: int, orders_day: int) -> list[dict[str, Any]]:
    return [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": weight,
        },
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": orders_10s},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": orders_day},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
    ]


def symbol_info(spec: MarketSpec) -> dict[str, Any]:
    return {
        "symbol": spec.id,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        # Only what the paper engine can do: ccxt refuses other types client-side.
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": num(spec.min_price),
                "maxPrice": num(spec.max_price),
                "tickSize": num(spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": num(spec.min_amount),
                "maxQty": num(spec.max_amount),
                "stepSize": num(spec.step_size),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": num(0),
                "maxQty": num(spec.max_amount),
                "stepSize": num(0),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": num(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": num(Decimal(9_000_000)),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(server_time: int, limits: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": limits,
        "exchangeFilters": [],
        "symbols": [symbol_info(spec) for spec in MARKETS.values()],
    }


def coins(assets: Iterable[str]) -> list[dict[str, Any]]:
    """``sapi/v1/capital/config/getall``, reduced to what ccxt reads."""
    return [
        {
            "coin": asset,
            "name": asset,
            "depositAllEnable": True,
            "withdrawAllEnable": True,
            "free": "0",
            "locked": "0",
            "isLegalMoney": False,
            "trading": True,
            "networkList": [],
        }
        for asset in assets
    ]


def order_status(order: PaperOrder) -> str:
    if order.status == PaperOrder.Status.OPEN:
        return "PARTIALLY_FILLED" if order.filled else "NEW"
    return ORDER_STATUS[PaperOrder.Status(order.status)]


def order(record: PaperOrder) -> dict[str, Any]:
    spec = MARKETS[record.symbol]
    created = ms(record.created_at)
    return {
        "symbol": spec.id,
        "orderId": record.pk,
        "orderListId": -1,
        "clientOrderId": record.client_order_id,
        "price": num(record.price),
        "origQty": num(record.amount),
        "executedQty": num(record.filled),
        "cummulativeQuoteQty": num(record.cost),
        "status": order_status(record),
        "timeInForce": "GTC",
        "type": str(record.type).upper(),
        "side": str(record.side).upper(),
        "stopPrice": num(0),
        "icebergQty": num(0),
        "time": created,
        "updateTime": ms(record.updated_at),
        "isWorking": True,
        "workingTime": created,
        "origQuoteOrderQty": num(record.quote_amount),
        "selfTradePreventionMode": "NONE",
    }


def new_order(
    record: PaperOrder, response_type: str, trades: Iterable[PaperTrade]
) -> dict[str, Any]:
    """The POST /api/v3/order answer in its ACK, RESULT or FULL form."""
    full = order(record)
    ack = {
        "symbol": full["symbol"],
        "orderId": full["orderId"],
        "orderListId": -1,
        "clientOrderId": full["clientOrderId"],
        "transactTime": full["time"],
    }
    if response_type == "ACK":
        return ack
    result = {
        **ack,
        **{k: v for k, v in full.items() if k not in ("time", "updateTime", "isWorking")},
    }
    for unused in ("stopPrice", "icebergQty"):
        result.pop(unused)
    if response_type == "FULL":
        result["fills"] = [
            {
                "price": num(t.price),
                "qty": num(t.amount),
                "commission": num(t.fee),
                "commissionAsset": t.fee_currency,
                "tradeId": t.pk,
            }
            for t in trades
        ]
    return result


def canceled_order(record: PaperOrder, server_time: int) -> dict[str, Any]:
    full = order(record)
    return {
        "symbol": full["symbol"],
        "origClientOrderId": record.client_order_id,
        "orderId": record.pk,
        "orderListId": -1,
        "clientOrderId": f"cancel-{record.pk}",
        "transactTime": server_time,
        **{
            k: full[k]
            for k in (
                "price",
                "origQty",
                "executedQty",
                "cummulativeQuoteQty",
                "status",
                "timeInForce",
                "type",
                "side",
                "selfTradePreventionMode",
            )
        },
    }


def trade(record: PaperTrade) -> dict[str, Any]:
    return {
        "symbol": MARKETS[record.symbol].id,
        "id": record.pk,
        "orderId": record.order_id,
        "orderListId": -1,
        "price": num(record.price),
        "qty": num(record.amount),
        "quoteQty": num(record.cost),
        "commission": num(record.fee),
        "commissionAsset": record.fee_currency,
        "time": ms(record.executed_at),
        "isBuyer": record.side == PaperOrder.Side.BUY,
        "isMaker": record.is_maker,
        "isBestMatch": True,
    }


def account(
    *,
    uid: int,
    balances: Iterable[PaperBalance],
    config: PaperConfig,
    can_trade: bool,
    can_withdraw: bool,
    server_time: int,
    omit_zero: bool,
) -> dict[str, Any]:
    rows = [row for row in balances if not (omit_zero and row.total == 0)]
    return {
        "makerCommission": int(config.maker_fee * 10_000),
        "takerCommission": int(config.taker_fee * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": num(config.maker_fee),
            "taker": num(config.taker_fee),
            "buyer": num(0),
            "seller": num(0),
        },
        "canTrade": can_trade,
        "canWithdraw": can_withdraw,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": server_time,
        "accountType": "SPOT",
        "balances": [
            {"asset": row.asset, "free": num(row.free), "locked": num(row.used)} for row in rows
        ],
        "permissions": ["SPOT"],
        "uid": uid,
    }


def kline(candle: prices.Candle, width_minutes: int) -> list[Any]:
    quote_volume = candle.volume * (candle.high + candle.low + candle.close) / 3
    return [
        candle.timestamp_ms,
        num(candle.open),
        num(candle.high),
        num(candle.low),
        num(candle.close),
        num(candle.volume),
        candle.timestamp_ms + width_minutes * prices.MS_PER_MINUTE - 1,
        num(quote_volume),
        max(1, int(candle.volume * 10)),
        num(candle.volume / 2),
        num(quote_volume / 2),
        "0",
    ]


def ticker_24hr(
    spec: MarketSpec, last: prices.Candle, day: prices.Candle, server_time: int
) -> dict[str, Any]:
    change = last.close - day.open
    typical = (day.high + day.low + last.close) / 3
    return {
        "symbol": spec.id,
        "priceChange": num(change),
        "priceChangePercent": f"{(change / day.open * 100).quantize(Decimal('0.001')):f}",
        "weightedAvgPrice": num(typical.quantize(spec.tick_size)),
        "prevClosePrice": num(day.open),
        "lastPrice": num(last.close),
        "lastQty": num(spec.step_size * 10),
        "bidPrice": num(last.close - spec.tick_size),
        "bidQty": num(spec.step_size * 1000),
        "askPrice": num(last.close + spec.tick_size),
        "askQty": num(spec.step_size * 1000),
        "openPrice": num(day.open),
        "highPrice": num(day.high),
        "lowPrice": num(day.low),
        "volume": num(day.volume),
        "quoteVolume": num(day.volume * typical),
        "openTime": day.timestamp_ms,
        "closeTime": server_time,
        "firstId": 1,
        "lastId": max(1, int(day.volume * 10)),
        "count": max(1, int(day.volume * 10)),
    }


def depth(spec: MarketSpec, price: Decimal, levels: int, server_time: int) -> dict[str, Any]:
    """A thin synthetic book around the price: enough for code that reads the top."""
    size = spec.step_size * 1000
    return {
        "lastUpdateId": server_time,
        "bids": [
            [num(price - spec.tick_size * (i + 1)), num(size * (i + 1))] for i in range(levels)
        ],
        "asks": [
            [num(price + spec.tick_size * (i + 1)), num(size * (i + 1))] for i in range(levels)
        ],
    }


def api_restrictions(
    *,
    ip_restrict: bool,
    enable_withdrawals: bool,
    enable_trading: bool,
    enable_reading: bool,
    create_time: int,
    trading_expires: int | None,
) -> dict[str, Any]:
    """GET /sapi/v1/account/apiRestrictions, with every field Binance documents."""
    answer: dict[str, Any] = {
        "ipRestrict": ip_restrict,
        "createTime": create_time,
        "enableReading": enable_reading,
        "enableWithdrawals": enable_withdrawals,
        "enableInternalTransfer": False,
        "enableMargin": False,
        "enableFutures": False,
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": enable_trading,
        "enablePortfolioMarginTrading": False,
    }
    if trading_expires is not None:
        # Binance only sends this for keys whose trading permission has an end date.
        answer["tradingAuthorityExpirationTime"] = trading_expires
    return answer
