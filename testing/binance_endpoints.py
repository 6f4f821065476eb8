"""The Binance spot REST endpoints the emulator answers, and their request weights.

Each handler reads a parsed, already authenticated ``Call`` and answers JSON in
Binance's shapes (``binance_wire``), or raises ``ApiError`` with Binance's code
and message. Trading goes through the paper engine's ``Desk``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import ccxt

from paper import errors as paper_errors
from paper import prices
from paper.config import PaperConfig
from paper.engine import Desk, OrderRequest
from paper.markets import ASSETS, MARKETS_BY_ID, MarketSpec
from testing import binance_wire as wire

JSON = dict[str, Any] | list[Any]


@dataclass
class EmulatorKey:
    """An API key the emulator knows, with the permissions Binance would report."""

    api_key: str
    secret: str = field(repr=False)
    can_trade: bool = True
    can_read: bool = True
    can_withdraw: bool = False
    ip_restricted: bool = True
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    trading_expires_ms: int | None = None
    revoked: bool = False


class Venue(Protocol):
    """What a handler needs from the emulator."""

    config: PaperConfig

    def server_time_ms(self) -> int: ...

    def now_minute(self) -> int: ...

    def desk(self, key: EmulatorKey) -> AbstractContextManager[Desk]: ...

    def limits(self) -> list[dict[str, Any]]: ...


@dataclass
class Reply:
    status: int
    body: JSON | Raw | None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


@dataclass(frozen=True)
class Raw:
    """A body sent as it is, not as JSON: a proxy's HTML error page, a cut-off reply."""

    text: str
    status: int = 200
    content_type: str = "application/json;charset=UTF-8"


class ApiError(Exception):
    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.reply = Reply(status, wire.error(code, message), headers or {})


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str]
    query: str
    body: str
    api_key: str | None

    def required(self, name: str) -> str:
        value = self.params.get(name, "")
        if not value:
            raise ApiError(
                400,
                -1102,
                f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
            )
        return value

    def decimal(self, name: str, *, required: bool = True) -> Decimal | None:
        raw = self.required(name) if required else self.params.get(name)
        if raw is None:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.") from None
        # Trailing zeros are harmless; digits past the eighth place are not.
        if not value.is_finite() or value.normalize().as_tuple().exponent < -8:  # type: ignore[operator]
            raise ApiError(400, -1111, f"Parameter '{name}' has too much precision.")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        if not raw.lstrip("-").isdigit():
            raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.")
        return int(raw)


@dataclass(frozen=True)
class Endpoint:
    handler: Callable[[Venue, Call, EmulatorKey | None], JSON]
    weight: Callable[[dict[str, str]], int]
    signed: bool = False
    sapi: bool = False  # sapi weight is a separate budget with its own header
    paper_method: str = ""  # the PaperExchange method whose faults apply
    trades: bool = False  # needs the key's trading permission


def _fixed(weight: int) -> Callable[[dict[str, str]], int]:
    return lambda params: weight


def _by_symbol(with_symbol: int, without: int) -> Callable[[dict[str, str]], int]:
    return lambda params: with_symbol if params.get("symbol") else without


def _my_trades_weight(params: dict[str, str]) -> int:
    return 5 if params.get("orderId") else 20  # one order's fills weigh a quarter


def _depth_weight(params: dict[str, str]) -> int:
    limit = int(params.get("limit") or 100)
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def market_of(call: Call) -> MarketSpec:
    spec = MARKETS_BY_ID.get(call.required("symbol"))
    if spec is None:
        raise ApiError(400, -1121, "Invalid symbol.")
    return spec


ORDER_ERRORS: list[tuple[type[Exception], int, int, str]] = [
    (paper_errors.LotSizeFailure, 400, -1013, "Filter failure: LOT_SIZE"),
    (paper_errors.PriceFilterFailure, 400, -1013, "Filter failure: PRICE_FILTER"),
    (paper_errors.NotionalFailure, 400, -1013, "Filter failure: NOTIONAL"),
    (paper_errors.DuplicateOrder, 400, -2010, "Duplicate order sent."),
    (
        paper_errors.InvalidClientOrderId,
        400,
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; "
        "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
    ),
    (ccxt.InsufficientFunds, 400, -2010, "Account has insufficient balance for requested action."),
    (ccxt.InvalidOrder, 400, -1013, "Invalid quantity."),
]


def _ping(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    return {}


def _time(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    return {"serverTime": venue.server_time_ms()}


def _exchange_info(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    return wire.exchange_info(venue.server_time_ms(), venue.limits())


def _specs(call: Call) -> list[MarketSpec]:
    if call.params.get("symbol"):
        return [market_of(call)]
    if call.params.get("symbols"):
        names = json.loads(call.params["symbols"])
        unknown = [name for name in names if name not in MARKETS_BY_ID]
        if unknown:
            raise ApiError(400, -1121, "Invalid symbol.")
        return [MARKETS_BY_ID[name] for name in names]
    return list(MARKETS_BY_ID.values())


def _ticker_24hr(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    seed, minute = venue.config.seed, venue.now_minute()
    answers = [
        wire.ticker_24hr(
            spec,
            prices.minute_candle(seed, spec.symbol, minute),
            prices.span_candle(seed, spec.symbol, minute - 1439, minute),
            venue.server_time_ms(),
        )
        for spec in _specs(call)
    ]
    return answers[0] if call.params.get("symbol") else answers


def _ticker_price(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    seed, minute = venue.config.seed, venue.now_minute()
    answers = [
        {"symbol": spec.id, "price": wire.num(prices.price_at(seed, spec.symbol, minute))}
        for spec in _specs(call)
    ]
    return answers[0] if call.params.get("symbol") else answers


def _klines(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    spec = market_of(call)
    interval = call.required("interval")
    if interval not in prices.TIMEFRAME_MINUTES:
        raise ApiError(400, -1120, "Invalid interval.")
    limit = min(call.integer("limit", 500) or 500, 1000)
    start, end = call.integer("startTime"), call.integer("endTime")
    candles = prices.ohlcv(
        venue.config.seed,
        spec.symbol,
        interval,
        now_minute=venue.now_minute(),
        since_ms=start,
        limit=limit,
    )
    if end is not None:
        candles = [c for c in candles if c.timestamp_ms <= end]
    width = prices.TIMEFRAME_MINUTES[interval]
    return [wire.kline(candle, width) for candle in candles]


def _depth(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    spec = market_of(call)
    price = prices.price_at(venue.config.seed, spec.symbol, venue.now_minute())
    levels = min(call.integer("limit", 100) or 100, 20)
    return wire.depth(spec, price, levels, venue.server_time_ms())


def _account(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    assert key is not None  # noqa: S101 - signed endpoints always have a key
    with venue.desk(key) as desk:
        return wire.account(
            uid=desk.account.pk,
            balances=desk.balances(),
            config=venue.config,
            can_trade=key.can_trade,
            can_withdraw=key.can_withdraw,
            server_time=venue.server_time_ms(),
            omit_zero=call.params.get("omitZeroBalances") == "true",
        )


def _order_request(call: Call, spec: MarketSpec) -> OrderRequest:
    side = call.required("side")
    if side not in ("BUY", "SELL"):
        raise ApiError(400, -1117, "Invalid side.")
    kind = call.required("type")
    if kind not in ("LIMIT", "MARKET"):
        raise ApiError(400, -1116, "Invalid orderType.")
    quantity = call.decimal("quantity", required=False)
    price = call.decimal("price", required=False)
    quote = call.decimal("quoteOrderQty", required=False)
    if kind == "LIMIT":
        if call.params.get("timeInForce", "") != "GTC":
            raise ApiError(400, -1014, "Unsupported order combination.")
        if quantity is None or price is None:
            raise ApiError(
                400,
                -1102,
                "Mandatory parameter 'quantity' or 'price' was not sent, was empty/null, or malformed.",
            )
    else:
        if price is not None:
            raise ApiError(400, -1106, "Parameter 'price' sent when not required.")
        if (quantity is None) == (quote is None):
            raise ApiError(
                400,
                -1102,
                "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
            )
    return OrderRequest(
        symbol=spec.symbol,
        side=side.lower(),
        type=kind.lower(),
        amount=quantity,
        price=price,
        quote_amount=quote,
        client_order_id=call.params.get("newClientOrderId") or None,
    )


def _new_order(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    assert key is not None  # noqa: S101
    spec = market_of(call)
    request = _order_request(call, spec)
    response_type = call.params.get("newOrderRespType", "FULL")
    try:
        with venue.desk(key) as desk:
            order = desk.place(request)
            return wire.new_order(order, response_type, order.trades.order_by("pk"))
    except ccxt.BaseError as error:
        for cls, status, code, message in ORDER_ERRORS:
            if isinstance(error, cls):
                raise ApiError(status, code, message) from None
        raise


def _find(desk: Desk, call: Call, spec: MarketSpec) -> Any:
    order_id, client_id = call.params.get("orderId"), call.params.get("origClientOrderId")
    if not order_id and not client_id:
        raise ApiError(
            400,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    return desk.find(
        order_id=order_id or None, client_order_id=client_id or None, symbol=spec.symbol
    )


def _get_order(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    assert key is not None  # noqa: S101
    spec = market_of(call)
    try:
        with venue.desk(key) as desk:
            return wire.order(_find(desk, call, spec))
    except ccxt.OrderNotFound:
        raise ApiError(400, -2013, "Order does not exist.") from None


def _cancel_order(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    assert key is not None  # noqa: S101
    spec = market_of(call)
    try:
        with venue.desk(key) as desk:
            order = desk.cancel(_find(desk, call, spec))
            return wire.canceled_order(order, venue.server_time_ms())
    except ccxt.OrderNotFound:
        raise ApiError(400, -2011, "Unknown order sent.") from None


def _open_orders(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    assert key is not None  # noqa: S101
    symbol = market_of(call).symbol if call.params.get("symbol") else None
    with venue.desk(key) as desk:
        return [wire.order(order) for order in desk.open_orders(symbol)]


def _my_trades(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    assert key is not None  # noqa: S101
    spec = market_of(call)
    limit = min(call.integer("limit", 500) or 500, 1000)
    start, end = call.integer("startTime"), call.integer("endTime")
    from_id, order_id = call.integer("fromId"), call.integer("orderId")
    with venue.desk(key) as desk:
        trades = desk.trades(symbol=spec.symbol, since_ms=start, order_id=call.integer("orderId"))
    if end is not None:
        trades = [t for t in trades if wire.ms(t.executed_at) <= end]  # type: ignore[operator]
    if from_id is not None:
        trades = [t for t in trades if t.pk >= from_id]
    from_start = start is not None or from_id is not None or order_id is not None
    trades = trades[:limit] if from_start else trades[-limit:]
    return [wire.trade(t) for t in trades]


def _api_restrictions(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    assert key is not None  # noqa: S101
    return wire.api_restrictions(
        ip_restrict=key.ip_restricted,
        enable_withdrawals=key.can_withdraw,
        enable_trading=key.can_trade,
        enable_reading=key.can_read,
        create_time=key.created_ms,
        trading_expires=key.trading_expires_ms,
    )


def _coins(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    return wire.coins(ASSETS)


def _no_margin_pairs(venue: Venue, call: Call, key: EmulatorKey | None) -> JSON:
    return []  # margin is not emulated; ccxt asks during load_markets unless told not to


# Weights are Binance's published spot weights.
ROUTES: dict[tuple[str, str], Endpoint] = {
    ("GET", "/api/v3/ping"): Endpoint(_ping, _fixed(1)),
    ("GET", "/api/v3/time"): Endpoint(_time, _fixed(1)),
    ("GET", "/api/v3/exchangeInfo"): Endpoint(_exchange_info, _fixed(20)),
    ("GET", "/api/v3/ticker/24hr"): Endpoint(_ticker_24hr, _by_symbol(2, 80)),
    ("GET", "/api/v3/ticker/price"): Endpoint(_ticker_price, _by_symbol(2, 4)),
    ("GET", "/api/v3/klines"): Endpoint(_klines, _fixed(2)),
    ("GET", "/api/v3/depth"): Endpoint(_depth, _depth_weight),
    ("GET", "/api/v3/account"): Endpoint(
        _account, _fixed(20), signed=True, paper_method="fetch_balance"
    ),
    ("POST", "/api/v3/order"): Endpoint(
        # Order requests weigh 0 since 2026-04-02 (they still count in the order limits).
        _new_order,
        _fixed(0),
        signed=True,
        paper_method="create_order",
        trades=True,
    ),
    ("GET", "/api/v3/order"): Endpoint(
        _get_order, _fixed(4), signed=True, paper_method="fetch_order"
    ),
    ("DELETE", "/api/v3/order"): Endpoint(
        _cancel_order, _fixed(1), signed=True, paper_method="cancel_order", trades=True
    ),
    ("GET", "/api/v3/openOrders"): Endpoint(
        _open_orders, _by_symbol(6, 80), signed=True, paper_method="fetch_open_orders"
    ),
    ("GET", "/api/v3/myTrades"): Endpoint(
        _my_trades, _my_trades_weight, signed=True, paper_method="fetch_my_trades"
    ),
    ("GET", "/sapi/v1/account/apiRestrictions"): Endpoint(
        _api_restrictions, _fixed(1), signed=True, sapi=True, paper_method="check_permissions"
    ),
    ("GET", "/sapi/v1/capital/config/getall"): Endpoint(_coins, _fixed(10), signed=True, sapi=True),
    ("GET", "/sapi/v1/margin/allPairs"): Endpoint(
        _no_margin_pairs, _fixed(1), signed=True, sapi=True
    ),
    ("GET", "/sapi/v1/margin/isolated/allPairs"): Endpoint(
        _no_margin_pairs, _fixed(10), signed=True, sapi=True
    ),
}
