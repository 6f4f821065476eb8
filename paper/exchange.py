"""``PaperExchange``: the paper engine behind ccxt's synchronous unified API.

The app talks to it exactly as to ``ccxt.binance``: same method names,
arguments, return shapes and error classes. Money is computed with Decimal and
returned as floats where ccxt returns floats.

Calls made with an API key pass through the key's armed faults
(``paper.faults``) and are counted, with Binance's request weight, on the
account (``requests``, ``weight``; private calls also against the per-account
limits, and report ``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-10S`` in
``last_response_headers``). Public market data needs no key and, without one,
touches no database.

Every request takes ``PaperConfig.latency_ms`` of simulated network time, half
before the exchange acts and half after, never while a lock is held; so many
threads (or ``AsyncPaperExchange`` on asyncio) overlap their waits as they would
with a real exchange.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
from ccxt.base.decimal_to_precision import ROUND, TICK_SIZE, TRUNCATE, decimal_to_precision

from paper import faults, prices, shapes
from paper.config import PaperConfig
from paper.engine import Desk, OrderRequest, open_desk
from paper.keys import FaultArmed, require_credentials
from paper.markets import EXCHANGE_ID, MARKETS, ccxt_market, market_spec
from paper.ratelimit import count_public_request

T = TypeVar("T")
MAX_OHLCV = 1000  # Binance's klines maximum
# Binance spot request weights (2026): what each call costs the account's budget.
# A successful order weighs 0 since 2026-04-02; myTrades with orderId weighs 5.
WEIGHT = {
    "fetch_markets": 20,
    "load_markets": 20,
    "fetch_time": 1,
    "fetch_ticker": 2,
    "fetch_tickers": 80,
    "fetch_ohlcv": 2,
    "fetch_balance": 20,
    "check_permissions": 1,
    "create_order": 0,
    "fetch_order": 4,
    "fetch_open_orders": 6,
    "fetch_open_orders_all": 80,
    "fetch_my_trades": 20,
    "fetch_my_trades_by_order": 5,
    "cancel_order": 1,
}


def _decimal(value: object) -> Decimal:
    return Decimal(str(value))


class PaperExchange:
    id = EXCHANGE_ID
    name = "Paper"
    precisionMode = TICK_SIZE
    timeframes: dict[str, str] = {tf: tf for tf in prices.TIMEFRAME_MINUTES}
    has: dict[str, bool] = {
        "spot": True,
        "fetchMarkets": True,
        "fetchTicker": True,
        "fetchTickers": True,
        "fetchOHLCV": True,
        "fetchBalance": True,
        "createOrder": True,
        "createMarketOrder": True,
        "createLimitOrder": True,
        "fetchOrder": True,
        "fetchOpenOrders": True,
        "fetchMyTrades": True,
        "cancelOrder": True,
        "withdraw": False,
    }

    def __init__(
        self,
        ccxt_config: Mapping[str, Any] | None = None,
        *,
        apiKey: str | None = None,
        secret: str | None = None,
        config: PaperConfig | None = None,
        **options: Any,
    ) -> None:
        """Build like a ccxt exchange: ``PaperExchange({'apiKey': .., 'secret': ..})``
        or ``PaperExchange(apiKey=.., secret=.., config=PaperConfig(..))``.

        ccxt options with no meaning here (timeout, enableRateLimit, ...) are accepted
        and ignored.
        """
        values = {**(ccxt_config or {}), **options}
        self.apiKey: str | None = apiKey if apiKey is not None else values.get("apiKey")
        self.secret: str | None = secret if secret is not None else values.get("secret")
        self.paper_config = config or PaperConfig.from_settings()
        self.options: dict[str, Any] = dict(values.get("options") or {})
        self.markets: dict[str, dict[str, Any]] | None = None
        self.markets_by_id: dict[str, list[dict[str, Any]]] = {}
        self.symbols: list[str] = []
        self.currencies: dict[str, dict[str, Any]] = {}
        self.last_response_headers: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<PaperExchange key={'set' if self.apiKey else 'none'}>"

    # --- plumbing --------------------------------------------------------------------
    def _travel(self) -> None:
        """One leg of a request's simulated round trip (half the latency)."""
        if self.paper_config.latency_ms > 0:
            time.sleep(self.paper_config.latency_ms / 2000)

    def _call(self, method: str, action: Callable[[], T], *, weight: int | None = None) -> T:
        """A public request: faults and usage apply when the client has a key."""
        self._travel()
        try:
            fault = faults.take(self.apiKey, method) if self.apiKey else None
            if fault is not None:
                faults.raise_before_call(fault, exchange_id=self.id, method=method)
            result = action()
            if self.apiKey:
                count_public_request(
                    self.apiKey, weight=WEIGHT[method] if weight is None else weight
                )
            if fault is not None:
                faults.raise_after_call(fault, exchange_id=self.id, method=method)
            return result
        finally:
            self._travel()

    def _private(
        self,
        method: str,
        action: Callable[[Desk], T],
        *,
        weight: int | None = None,
        client_order_id: str | None = None,
    ) -> T:
        """A signed request, run on the account's desk in one transaction."""
        api_key, secret = require_credentials(self.apiKey, self.secret)
        cost = WEIGHT[method] if weight is None else weight
        self._travel()
        try:
            fault = None
            try:
                # One query locks the account and looks for armed faults; only
                # when one is armed does the call take it and go round again.
                result = self._at_desk(
                    api_key, secret, action, cost, method, client_order_id=client_order_id
                )
            except FaultArmed:
                fault = faults.take(api_key, method)
                if fault is not None:
                    faults.raise_before_call(fault, exchange_id=self.id, method=method)
                result = self._at_desk(
                    api_key, secret, action, cost, None, client_order_id=client_order_id
                )
            if fault is not None:
                faults.raise_after_call(fault, exchange_id=self.id, method=method)
            return result
        finally:
            self._travel()

    def _at_desk(
        self,
        api_key: str,
        secret: str,
        action: Callable[[Desk], T],
        weight: int,
        fault_method: str | None,
        *,
        client_order_id: str | None,
    ) -> T:
        with open_desk(
            api_key,
            secret,
            self.paper_config,
            weight=weight,
            fault_method=fault_method,
            client_order_id=client_order_id,
        ) as desk:
            result = action(desk)
            self.last_response_headers = desk.usage_headers()
        return result

    def _now_minute(self) -> int:
        return prices.minute_of(self.paper_config.now())

    def milliseconds(self) -> int:
        return int(self.paper_config.now().timestamp() * 1000)

    @staticmethod
    def iso8601(timestamp: int | None) -> str | None:
        return ccxt.Exchange.iso8601(timestamp)

    # --- markets ---------------------------------------------------------------------
    def fetch_markets(self, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._call("fetch_markets", self._market_list)

    def _market_list(self) -> list[dict[str, Any]]:
        return [ccxt_market(spec, self.paper_config) for spec in MARKETS.values()]

    def load_markets(
        self, reload: bool = False, params: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        if self.markets is not None and not reload:
            return self.markets
        return self._set_markets(self._call("load_markets", self._market_list))

    def _set_markets(self, markets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        self.markets = {market["symbol"]: market for market in markets}
        self.markets_by_id = {market["id"]: [market] for market in markets}
        self.symbols = sorted(self.markets)
        codes = {m["base"] for m in markets} | {m["quote"] for m in markets}
        self.currencies = {
            code: {"id": code, "code": code, "precision": 1e-08} for code in sorted(codes)
        }
        return self.markets

    def market(self, symbol: str) -> dict[str, Any]:
        # Local data: building the markets here is no request and meets no fault.
        markets = (
            self.markets if self.markets is not None else self._set_markets(self._market_list())
        )
        if symbol not in markets:
            market_spec(symbol)  # raises BadSymbol
        return markets[symbol]

    def amount_to_precision(self, symbol: str, amount: object) -> str:
        """Truncate to the market's step (as ccxt); InvalidOrder if nothing is left."""
        return self._to_precision(symbol, "amount", amount, TRUNCATE)

    def price_to_precision(self, symbol: str, price: object) -> str:
        """Round to the market's tick (as ccxt); InvalidOrder if it rounds to zero."""
        return self._to_precision(symbol, "price", price, ROUND)

    def _to_precision(self, symbol: str, kind: str, value: object, rounding: int) -> str:
        grid = self.market(symbol)["precision"][kind]
        result: str = decimal_to_precision(value, rounding, grid, TICK_SIZE)
        if result == "0":
            spec = market_spec(symbol)
            smallest = spec.step_size if kind == "amount" else spec.tick_size
            raise ccxt.InvalidOrder(
                f"{self.id} {kind} of {symbol} must be greater than minimum {kind} precision "
                f"of {smallest}"
            )
        return result

    # --- market data -----------------------------------------------------------------
    def fetch_time(self, params: dict[str, Any] | None = None) -> int:
        return self._call("fetch_time", self.milliseconds)

    def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("fetch_ticker", lambda: self._ticker(symbol))

    def fetch_tickers(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        wanted = symbols or list(MARKETS)
        return self._call("fetch_tickers", lambda: {s: self._ticker(s) for s in wanted})

    def _ticker(self, symbol: str) -> dict[str, Any]:
        spec = market_spec(symbol)
        seed, now_minute = self.paper_config.seed, self._now_minute()
        last = prices.minute_candle(seed, symbol, now_minute)
        day = prices.span_candle(seed, symbol, now_minute - 1439, now_minute)
        return shapes.ticker(spec, last, day, self.paper_config.now())

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1h",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float | int]]:
        market_spec(symbol)
        count = min(limit or 500, MAX_OHLCV)

        def candles() -> list[list[float | int]]:
            found = prices.ohlcv(
                self.paper_config.seed,
                symbol,
                timeframe,
                now_minute=self._now_minute(),
                since_ms=since,
                limit=count,
            )
            return [candle.as_ccxt() for candle in found]

        return self._call("fetch_ohlcv", candles)

    # --- account ---------------------------------------------------------------------
    def fetch_balance(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._private(
            "fetch_balance", lambda desk: shapes.balance(desk.balances(), desk.now)
        )

    def check_permissions(self) -> dict[str, bool]:
        """What the key may do: paper keys trade and read, never withdraw."""
        return self._private(
            "check_permissions",
            lambda desk: {
                "read": True,
                "spot_trade": True,
                "withdraw": False,
                "ip_restricted": True,
            },
        )

    def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: float | str | Decimal,
        price: float | str | Decimal | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Place a market or limit order, as ccxt does for Binance.

        ``params['clientOrderId']`` is honoured and must be unused on the account
        (ccxt.InvalidOrder "Duplicate order sent" otherwise). The amount is
        truncated and the price rounded to the market's precision first, as ccxt
        does. Like ccxt's Binance, a market order given a price (or
        ``params['cost']`` / ``params['quoteOrderQty']``) is sized in quote:
        ``amount * price`` worth. Raises ccxt.InvalidOrder (LOT_SIZE,
        PRICE_FILTER, precision), ccxt.BadRequest (NOTIONAL) and
        ccxt.InsufficientFunds.
        """
        params = params or {}
        spec = market_spec(symbol)
        order_type, order_side = str(type).lower(), str(side).lower()
        quote_amount = params.get("cost", params.get("quoteOrderQty"))
        if order_type == "market" and quote_amount is None and price is not None:
            quote_amount = _decimal(amount) * _decimal(price)
        request = OrderRequest(
            symbol=spec.symbol,
            side=order_side,
            type=order_type,
            amount=_decimal(self.amount_to_precision(symbol, amount)),
            price=(
                _decimal(self.price_to_precision(symbol, price))
                if order_type == "limit" and price is not None
                else None
            ),
            quote_amount=(
                _decimal(self.price_to_precision(symbol, quote_amount))
                if order_type == "market" and quote_amount is not None
                else None
            ),
            client_order_id=params.get("clientOrderId", params.get("newClientOrderId")),
        )

        def place(desk: Desk) -> dict[str, Any]:
            placed = desk.place(request)
            # The fills come back in the reply, as with newOrderRespType=FULL.
            return shapes.order(placed, desk.last_fills)

        return self._private("create_order", place, client_order_id=request.client_order_id)

    def fetch_order(
        self,
        id: str | None,
        symbol: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An order by id, or by ``params['clientOrderId']`` with ``id`` None."""
        client_order_id = self._client_id(params)

        def find(desk: Desk) -> dict[str, Any]:
            found = desk.find(order_id=id, client_order_id=client_order_id, symbol=symbol)
            return shapes.order(found, found.trades.all())

        return self._private("fetch_order", find)

    def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        def listing(desk: Desk) -> list[dict[str, Any]]:
            found = [shapes.order(o, o.trades.all()) for o in desk.open_orders(symbol)]
            if since is not None:
                found = [o for o in found if o["timestamp"] >= since]
            return found[:limit] if limit else found

        return self._private(
            "fetch_open_orders",
            listing,
            weight=WEIGHT["fetch_open_orders" if symbol else "fetch_open_orders_all"],
        )

    def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The account's fills, oldest first; ``params['orderId']``: only that order's
        (as Binance's myTrades, at a quarter of the weight)."""
        order_id = (params or {}).get("orderId")

        def listing(desk: Desk) -> list[dict[str, Any]]:
            found = desk.trades(symbol=symbol, since_ms=since, limit=limit, order_id=order_id)
            return [shapes.trade(t) for t in found]

        return self._private(
            "fetch_my_trades",
            listing,
            weight=WEIGHT["fetch_my_trades_by_order" if order_id else "fetch_my_trades"],
        )

    def cancel_order(
        self,
        id: str | None,
        symbol: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Cancel an open order (by id or ``params['clientOrderId']``) and free its funds.

        Raises ccxt.OrderNotFound for an unknown order or one no longer open.
        """
        client_order_id = self._client_id(params)

        def cancel(desk: Desk) -> dict[str, Any]:
            found = desk.find(order_id=id, client_order_id=client_order_id, symbol=symbol)
            canceled = desk.cancel(found)
            return shapes.order(canceled, canceled.trades.all())

        return self._private("cancel_order", cancel)

    @staticmethod
    def _client_id(params: dict[str, Any] | None) -> str | None:
        params = params or {}
        return params.get("clientOrderId", params.get("origClientOrderId"))
