"""The paper exchange's markets, their precision and their order filters.

Figures follow Binance spot (tick and step sizes, a 5 quote-unit minimum
notional), so an order the paper exchange accepts is one Binance would accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

import ccxt

from paper.config import PaperConfig
from paper.errors import LotSizeFailure, NotionalFailure, PriceFilterFailure

EXCHANGE_ID = "paper"


@dataclass(frozen=True)
class MarketSpec:
    base: str
    quote: str
    tick_size: Decimal  # price step
    step_size: Decimal  # amount step
    min_amount: Decimal
    max_amount: Decimal
    min_notional: Decimal
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def id(self) -> str:
        return f"{self.base}{self.quote}"


def _spec(base: str, quote: str, step: str, max_amount: str) -> MarketSpec:
    return MarketSpec(
        base=base,
        quote=quote,
        tick_size=Decimal("0.01"),
        step_size=Decimal(step),
        min_amount=Decimal(step),
        max_amount=Decimal(max_amount),
        min_notional=Decimal("5"),
    )


MARKETS: dict[str, MarketSpec] = {
    spec.symbol: spec
    for spec in (
        _spec("BTC", "USDT", "0.00001", "9000"),
        _spec("ETH", "USDT", "0.0001", "9000"),
        _spec("SOL", "USDT", "0.001", "90000"),
        _spec("BTC", "USDC", "0.00001", "9000"),
        _spec("ETH", "USDC", "0.0001", "9000"),
        _spec("SOL", "USDC", "0.001", "90000"),
    )
}
MARKETS_BY_ID: dict[str, MarketSpec] = {spec.id: spec for spec in MARKETS.values()}
ASSETS: tuple[str, ...] = tuple(
    sorted({spec.base for spec in MARKETS.values()} | {spec.quote for spec in MARKETS.values()})
)


def market_spec(symbol: str) -> MarketSpec:
    try:
        return MARKETS[symbol]
    except KeyError:
        raise ccxt.BadSymbol(f"{EXCHANGE_ID} does not have market symbol {symbol}") from None


def truncate_to_step(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def round_to_tick(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value(rounding=ROUND_HALF_UP) * tick


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def check_order_filters(
    spec: MarketSpec, *, amount: Decimal, price: Decimal | None, reference_price: Decimal
) -> None:
    """Raise as Binance (through ccxt) does for an order that breaks a filter.

    LOT_SIZE and PRICE_FILTER → ``ccxt.InvalidOrder``; NOTIONAL → ``ccxt.BadRequest``
    (Binance sends it as -1013, which ccxt maps to BadRequest).
    """
    if (
        amount < spec.min_amount
        or amount > spec.max_amount
        or not is_multiple(amount, spec.step_size)
    ):
        raise LotSizeFailure(
            f"{EXCHANGE_ID} Filter failure: LOT_SIZE: amount {amount} {spec.base} must be "
            f"between {spec.min_amount} and {spec.max_amount} in steps of {spec.step_size}"
        )
    if price is not None and (
        price < spec.min_price or price > spec.max_price or not is_multiple(price, spec.tick_size)
    ):
        raise PriceFilterFailure(
            f"{EXCHANGE_ID} Filter failure: PRICE_FILTER: price {price} must be between "
            f"{spec.min_price} and {spec.max_price} in steps of {spec.tick_size}"
        )
    notional = amount * (price if price is not None else reference_price)
    if notional < spec.min_notional:
        raise NotionalFailure(
            f"{EXCHANGE_ID} Filter failure: NOTIONAL: order value {notional.normalize():f} "
            f"{spec.quote} is below the market's minimum of {spec.min_notional} {spec.quote}"
        )


def ccxt_market(spec: MarketSpec, config: PaperConfig) -> dict[str, Any]:
    """The unified ccxt market structure (TICK_SIZE precision mode)."""
    return {
        "id": spec.id,
        "symbol": spec.symbol,
        "base": spec.base,
        "quote": spec.quote,
        "baseId": spec.base,
        "quoteId": spec.quote,
        "settle": None,
        "settleId": None,
        "type": "spot",
        "spot": True,
        "margin": False,
        "swap": False,
        "future": False,
        "option": False,
        "contract": False,
        "linear": None,
        "inverse": None,
        "contractSize": None,
        "expiry": None,
        "expiryDatetime": None,
        "strike": None,
        "optionType": None,
        "active": True,
        "taker": float(config.taker_fee),
        "maker": float(config.maker_fee),
        "percentage": True,
        "tierBased": False,
        "feeSide": "quote",
        "precision": {
            "amount": float(spec.step_size),
            "price": float(spec.tick_size),
            "base": 1e-08,
            "quote": 1e-08,
        },
        "limits": {
            "leverage": {"min": None, "max": None},
            "amount": {"min": float(spec.min_amount), "max": float(spec.max_amount)},
            "price": {"min": float(spec.min_price), "max": float(spec.max_price)},
            "cost": {"min": float(spec.min_notional), "max": None},
            "market": {"min": float(spec.min_amount), "max": float(spec.max_amount)},
        },
        "created": None,
        "info": {"symbol": spec.id, "status": "TRADING"},
    }
