"""Order matching for one paper account: placing, filling and cancelling orders.

Fills are a function of the synthetic prices minute by minute, evaluated lazily
whenever the account is touched: an order remembers the first minute it has not
been evaluated for, and each touch walks it up to the current minute. So the
outcome does not depend on how often, or from which process, the account is
looked at.

- Market orders fill at the minute's price plus slippage (taker fee). Worth more
  than ``max_fill_notional``, they fill one chunk of that size per minute.
- Limit orders that cross the price when placed fill like market orders, never
  beyond their limit; the rest rests and fills at the limit price (maker fee) in
  the first later minute whose candle reaches it.
- Fees are charged in the quote currency. Open orders hold their funds as
  ``used``; a buy whose later chunks cost more than reserved draws on free
  funds, and expires when those run out.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import ccxt
from django.db import transaction
from django.db.models import F

from paper import fastsql, prices
from paper.config import PaperConfig
from paper.errors import DuplicateOrder, InvalidClientOrderId, PaperRateLimited
from paper.keys import locked_account
from paper.ledger import Ledger
from paper.markets import (
    EXCHANGE_ID,
    MarketSpec,
    check_order_filters,
    market_spec,
    truncate_to_step,
)
from paper.models import PaperAccount, PaperBalance, PaperOrder, PaperTrade
from paper.ratelimit import count_order, count_request

QUANTUM = Decimal("0.00000001")
BPS = Decimal("0.0001")
# Binance's rule for newClientOrderId.
CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
Side = PaperOrder.Side
Type = PaperOrder.Type
Status = PaperOrder.Status


@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: str
    type: str
    amount: Decimal | None
    price: Decimal | None = None
    quote_amount: Decimal | None = None  # market orders sized in quote (quoteOrderQty)
    client_order_id: str | None = None


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def _at_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (value / tick).to_integral_value(rounding=rounding) * tick


def _fee(cost: Decimal, rate: Decimal) -> Decimal:
    return (cost * rate).quantize(QUANTUM, rounding=ROUND_HALF_UP)


class Desk:
    """One locked account's trading for the length of a transaction."""

    def __init__(self, account: PaperAccount, config: PaperConfig, *, count: bool = True) -> None:
        self.account = account
        self.config = config
        self.count = count
        self.ledger = Ledger(account)
        self.now = config.now()
        self._new_trades: list[PaperTrade] = []
        # The fills of the last order placed, for the order reply (no re-read).
        self.last_fills: list[PaperTrade] = []
        # Client order ids already looked up in this transaction: taken or not.
        self.client_id_taken: dict[str, bool] = {}

    # --- reads -----------------------------------------------------------------------
    def balances(self) -> list[PaperBalance]:
        return self.ledger.rows()

    def find(
        self,
        *,
        order_id: str | int | None = None,
        client_order_id: str | None = None,
        symbol: str | None = None,
    ) -> PaperOrder:
        orders = PaperOrder.objects.filter(account=self.account)
        if symbol is not None:
            orders = orders.filter(symbol=symbol)
        order = None
        if client_order_id is not None:
            # Where a client id was reused (only after a fill), the newest order wins.
            order = orders.filter(client_order_id=client_order_id).order_by("-pk").first()
        elif order_id is not None and str(order_id).isdigit():
            order = orders.filter(pk=int(order_id)).first()
        if order is None:
            raise ccxt.OrderNotFound(f"{EXCHANGE_ID} Order does not exist.")
        return order

    def open_orders(self, symbol: str | None = None) -> list[PaperOrder]:
        orders = PaperOrder.objects.filter(account=self.account, status=Status.OPEN)
        if symbol is not None:
            orders = orders.filter(symbol=symbol)
        return list(orders.order_by("pk"))

    def trades(
        self,
        *,
        symbol: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
        order_id: str | int | None = None,
    ) -> list[PaperTrade]:
        """The account's fills oldest first; only one order's with ``order_id``."""
        trades = PaperTrade.objects.filter(account=self.account).select_related("order")
        if symbol is not None:
            trades = trades.filter(symbol=symbol)
        if order_id is not None:
            if not str(order_id).isdigit():
                return []
            trades = trades.filter(order_id=int(order_id))
        if since_ms is not None:
            trades = trades.filter(executed_at__gte=datetime.fromtimestamp(since_ms / 1000, tz=UTC))
            found = trades.order_by("executed_at", "pk")
            return list(found[:limit] if limit else found)
        newest = trades.order_by("-executed_at", "-pk")
        return list(reversed(newest[:limit] if limit else newest))

    # --- writes ----------------------------------------------------------------------
    def place(self, request: OrderRequest) -> PaperOrder:
        """Place an order and fill what the current minute allows.

        Raises ccxt.InvalidOrder (bad type, missing price, filters, duplicate client
        id), ccxt.BadRequest (minimum notional, bad client id) and
        ccxt.InsufficientFunds.
        """
        spec = market_spec(request.symbol)
        if request.side not in Side.values:
            raise ccxt.BadRequest(f"{EXCHANGE_ID} order side must be buy or sell")
        if request.type not in Type.values:
            raise ccxt.InvalidOrder(f"{EXCHANGE_ID} supports market and limit orders only")
        if self.count:
            count_order(self.account, now=self.now, limit=self.config.order_limit_per_10s)
        client_order_id = request.client_order_id or f"paper-{secrets.token_hex(12)}"
        if not CLIENT_ORDER_ID.match(client_order_id):
            raise InvalidClientOrderId(
                f"{EXCHANGE_ID} clientOrderId must be 1-36 characters of A-Z a-z 0-9 . : / _ -"
            )
        self._refuse_duplicate(client_order_id, generated=request.client_order_id is None)

        minute = prices.minute_of(self.now)
        market_price = prices.price_at(self.config.seed, spec.symbol, minute)
        limit_price = None
        if request.type == Type.LIMIT:
            if request.price is None or request.price <= 0:
                raise ccxt.InvalidOrder(
                    f"{EXCHANGE_ID} createOrder() requires a price argument for a limit order"
                )
            limit_price = request.price
        amount = request.amount
        if request.type == Type.MARKET and request.quote_amount is not None:
            amount = self._amount_for_quote(spec, request.side, request.quote_amount, market_price)
        if amount is None or amount <= 0:
            raise ccxt.InvalidOrder(f"{EXCHANGE_ID} order amount must be positive")
        check_order_filters(spec, amount=amount, price=limit_price, reference_price=market_price)

        reserve_asset, reserve = self._reserve_for(
            spec, request.side, amount, limit_price, market_price
        )
        free = self.ledger.free(reserve_asset)
        if reserve > free:
            raise ccxt.InsufficientFunds(
                f"{EXCHANGE_ID} Account has insufficient balance for requested action: "
                f"the order needs {reserve.normalize():f} {reserve_asset}, "
                f"{free.normalize():f} {reserve_asset} is free"
            )
        self.ledger.reserve(reserve_asset, reserve)
        order = PaperOrder(
            account=self.account,
            client_order_id=client_order_id,
            symbol=spec.symbol,
            side=request.side,
            type=request.type,
            amount=amount,
            price=limit_price,
            quote_amount=request.quote_amount if request.type == Type.MARKET else None,
            fee_currency=spec.quote,
            reserve_asset=reserve_asset,
            reserved=reserve,
            next_minute=minute,
            created_at=self.now,
            updated_at=self.now,
        )
        # Matched in memory first, so the order is written once, in its final state.
        self._evaluate(order)
        fastsql.insert([order])
        self.last_fills = self._flush_trades()
        if order.is_open:
            self._needs_settling(order.next_minute)
        return order

    def cancel(self, order: PaperOrder) -> PaperOrder:
        """Cancel an open order and free its funds; ccxt.OrderNotFound if it is not open."""
        if not order.is_open:
            raise ccxt.OrderNotFound(f"{EXCHANGE_ID} Unknown order sent.")
        self._finish(order, Status.CANCELED, self.now)
        order.save()
        return order

    def settle(self) -> None:
        """Bring every open order up to the current minute.

        Skipped without a query when the account has nothing open, or nothing
        open that a minute not yet evaluated could fill.
        """
        due = self.account.settle_from
        if due is None or due > prices.minute_of(self.now):
            return
        still_open = []
        for order in self.open_orders():
            self._evaluate(order)
            order.save()
            if order.is_open:
                still_open.append(order.next_minute)
        self._flush_trades()
        self.account.settle_from = min(still_open, default=None)

    def save(self) -> None:
        """Write the balances and the account's counters (one round trip on PostgreSQL)."""
        self._flush_trades()
        fastsql.update_many([*self.ledger.changes(), (self.account, fastsql.ACCOUNT_STATE)])

    def usage_headers(self) -> dict[str, str]:
        """What Binance reports after each call, for clients that watch their budget."""
        return {
            "X-MBX-USED-WEIGHT-1M": str(self.account.rate_weight),
            "X-MBX-ORDER-COUNT-10S": str(self.account.order_window_count),
        }

    # --- internals -------------------------------------------------------------------
    def _needs_settling(self, minute: int) -> None:
        due = self.account.settle_from
        self.account.settle_from = minute if due is None else min(due, minute)

    def _flush_trades(self) -> list[PaperTrade]:
        trades, self._new_trades = self._new_trades, []
        for trade in trades:
            # The order may have been written after the fill: take its id now
            # (assigning the object again keeps it cached on the trade).
            trade.order = trade.order
        fastsql.insert(trades)
        return trades

    def _refuse_duplicate(self, client_order_id: str, *, generated: bool) -> None:
        taken = self.client_id_taken.get(client_order_id)
        if generated and self.ledger.loaded:
            # 96 random bits: no earlier order has it (and the database refuses two
            # open orders with one id whatever happens here).
            taken = False
        if taken is None or not self.ledger.loaded:
            # Read with the balances (one round trip), which placing needs next anyway.
            balances, taken = fastsql.balances_and_client_id(
                self.account,
                client_order_id,
                exclude_closed=self.config.reuse_client_order_id_after_fill,
            )
            self.ledger.preload(balances)
        if taken:
            # Binance's answer (-2010), which ccxt raises as InvalidOrder.
            raise DuplicateOrder(
                f'{EXCHANGE_ID} {{"code":-2010,"msg":"Duplicate order sent."}} '
                f"clientOrderId {client_order_id} is already used on this account"
            )

    def _slippage(self, notional: Decimal) -> Decimal:
        share = min(Decimal(1), notional / self.config.max_fill_notional)
        return (self.config.slippage_bps + self.config.impact_bps * share) * BPS

    def _taker_price(self, spec: MarketSpec, side: str, price: Decimal, qty: Decimal) -> Decimal:
        slip = self._slippage(qty * price)
        if side == Side.BUY:
            return _at_tick(price * (1 + slip), spec.tick_size, ROUND_CEILING)
        return _at_tick(price * (1 - slip), spec.tick_size, ROUND_FLOOR)

    def _amount_for_quote(
        self, spec: MarketSpec, side: str, quote_amount: Decimal, market_price: Decimal
    ) -> Decimal:
        worst = self._taker_price(spec, side, market_price, quote_amount / market_price)
        return truncate_to_step(quote_amount / worst, spec.step_size)

    def _reserve_for(
        self,
        spec: MarketSpec,
        side: str,
        amount: Decimal,
        limit_price: Decimal | None,
        market_price: Decimal,
    ) -> tuple[str, Decimal]:
        if side == Side.SELL:
            return spec.base, amount
        if limit_price is not None:
            rate = max(self.config.maker_fee, self.config.taker_fee)
            price = limit_price
        else:
            rate = self.config.taker_fee
            price = self._taker_price(spec, side, market_price, amount)
        cost = amount * price
        return spec.quote, (cost + cost * rate).quantize(QUANTUM, rounding=ROUND_CEILING)

    def _evaluate(self, order: PaperOrder) -> None:
        spec = market_spec(order.symbol)
        seed = self.config.seed
        placed = prices.minute_of(order.created_at)
        now_minute = prices.minute_of(self.now)
        minute = order.next_minute
        while order.is_open and minute <= now_minute:
            at = order.created_at if minute == placed else minute_start(minute)
            if order.type == Type.MARKET:
                self._fill_chunk(order, spec, prices.price_at(seed, spec.symbol, minute), at)
            elif minute == placed:
                price = prices.price_at(seed, spec.symbol, minute)
                crosses = price <= order.price if order.side == Side.BUY else price >= order.price
                if crosses:
                    self._fill_chunk(order, spec, price, at)
            elif self._limit_reached(order, spec, minute):
                self._fill_chunk(order, spec, order.price, at, maker=True)
            minute += 1
        if order.is_open:
            order.next_minute = minute

    def _limit_reached(self, order: PaperOrder, spec: MarketSpec, minute: int) -> bool:
        # A resting order may be walked over days of minutes: decide on floats when
        # the candle is clearly away from the limit, on exact ticks when close.
        low, high = prices.minute_range(self.config.seed, spec.symbol, minute)
        margin = float(spec.tick_size) * 2
        if order.side == Side.BUY and low > float(order.price) + margin:
            return False
        if order.side == Side.SELL and high < float(order.price) - margin:
            return False
        candle = prices.minute_candle(self.config.seed, spec.symbol, minute)
        if order.side == Side.BUY:
            return candle.low <= order.price
        return candle.high >= order.price

    def _fill_chunk(
        self,
        order: PaperOrder,
        spec: MarketSpec,
        price: Decimal,
        at: datetime,
        *,
        maker: bool = False,
    ) -> None:
        cap = self.config.max_fill_notional
        qty = order.remaining
        if qty * price > cap:
            qty = max(truncate_to_step(cap / price, spec.step_size), spec.step_size)
        if not maker:
            price = self._taker_price(spec, order.side, price, qty)
            if order.type == Type.LIMIT:
                # A crossing limit order never trades beyond its limit.
                price = (
                    min(price, order.price) if order.side == Side.BUY else max(price, order.price)
                )
        rate = self.config.maker_fee if maker else self.config.taker_fee
        out_of_funds = False
        if order.side == Side.BUY:
            available = order.reserved + self.ledger.free(spec.quote)
            affordable = truncate_to_step(available / (price * (1 + rate)), spec.step_size)
            while affordable > 0 and self._buy_cost(affordable, price, rate) > available:
                affordable -= spec.step_size
            if affordable < qty:
                qty, out_of_funds = affordable, True
        if qty > 0:
            self._apply_fill(order, spec, qty, price, rate, maker, at)
        if out_of_funds and order.is_open:
            # Like an exchange's market order that runs out of money: the rest expires.
            self._finish(order, Status.EXPIRED, at)

    @staticmethod
    def _buy_cost(qty: Decimal, price: Decimal, rate: Decimal) -> Decimal:
        cost = (qty * price).quantize(QUANTUM)
        return cost + _fee(cost, rate)

    def _apply_fill(
        self,
        order: PaperOrder,
        spec: MarketSpec,
        qty: Decimal,
        price: Decimal,
        rate: Decimal,
        maker: bool,
        at: datetime,
    ) -> None:
        cost = (qty * price).quantize(QUANTUM)
        fee = _fee(cost, rate)
        if order.side == Side.BUY:
            need = cost + fee
            from_reserve = min(need, order.reserved)
            self.ledger.spend_reserved(spec.quote, from_reserve)
            order.reserved -= from_reserve
            self.ledger.spend_free(spec.quote, need - from_reserve)
            self.ledger.credit(spec.base, qty)
        else:
            self.ledger.spend_reserved(spec.base, qty)
            order.reserved -= qty
            self.ledger.credit(spec.quote, cost - fee)
        order.filled += qty
        order.cost += cost
        order.fee += fee
        order.last_trade_at = at
        order.updated_at = at
        self._new_trades.append(
            PaperTrade(
                account=self.account,
                order=order,
                symbol=order.symbol,
                side=order.side,
                price=price,
                amount=qty,
                cost=cost,
                fee=fee,
                fee_currency=spec.quote,
                is_maker=maker,
                executed_at=at,
            )
        )
        if order.filled >= order.amount:
            self._finish(order, Status.CLOSED, at)

    def _finish(self, order: PaperOrder, status: str, at: datetime) -> None:
        if order.reserved:
            self.ledger.release(order.reserve_asset, order.reserved)
            order.reserved = Decimal(0)
        order.status = status
        order.updated_at = at


@contextmanager
def open_desk(
    api_key: str,
    secret: str,
    config: PaperConfig,
    *,
    count: bool = True,
    weight: int = 0,
    fault_method: str | None = None,
    client_order_id: str | None = None,
) -> Iterator[Desk]:
    """Lock the key's account, settle its orders, and save everything on success.

    Raises ccxt.AuthenticationError for a wrong secret, PaperRateLimited past the
    per-minute request or weight limit or the per-10-second order limit (unless ``count`` is
    off: the emulator counts itself; a refusal is added to ``throttled``), and
    ``FaultArmed``, before anything is written, when ``fault_method`` is given and
    a fault is armed for it. ``client_order_id``: the id an order placed at this
    desk will carry, looked up with the lock. An error inside the block rolls it
    all back.
    """
    account_id = None
    try:
        with fastsql.writer_turn(), transaction.atomic():
            locked = locked_account(
                api_key,
                secret,
                config,
                fault_method=fault_method,
                client_order_id=client_order_id,
            )
            account = locked.account
            account_id = account.pk
            if count:
                count_request(
                    account,
                    now=config.now(),
                    limit=config.rate_limit_per_minute,
                    weight=weight,
                    weight_limit=config.weight_limit_per_minute,
                )
            desk = Desk(account, config, count=count)
            if locked.balances is not None:
                desk.ledger.preload(locked.balances)
            desk.client_id_taken.update(locked.client_id_taken)
            desk.settle()
            yield desk
            desk.save()
    except PaperRateLimited:
        if account_id is not None:
            # The refused request's transaction rolled back; the refusal still counts.
            PaperAccount.objects.filter(pk=account_id).update(throttled=F("throttled") + 1)
        raise
