"""Fees paid in a third currency: neither the market's base nor its quote.

Binance takes its fee in BNB when the account pays fees with BNB. The book
(``trading.pnl``) counts such a fee as its value in the quote currency, found
here when the fill is stored: the last price of FEE/QUOTE from the shared price
snapshots (``market_cache.ticker_snapshot``: one ticker per pair and
``FEE_PRICE_SECONDS`` for every process, counted in the weight budget). When
there is no such market or no answer, the fill keeps ``fee_value`` empty and the
book keeps the fee in its own currency, apart from the result.

Prices are asked before any transaction is opened: never a request under a lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal

import ccxt

from trading import market_cache
from trading.exchange_calls import RateLimited
from trading.models import Fill, Order

logger = logging.getLogger(__name__)

FEE_PRICE_SECONDS = 60.0  # a fee is valued at a price at most this old


def third_currency(market: str, currency: str) -> bool:
    base, _, quote = market.partition("/")
    return bool(currency) and currency not in (base, quote)


def fee_pairs(market: str, currencies: Iterable[str]) -> set[str]:
    """The FEE/QUOTE markets whose price values these fees of ``market``."""
    quote = market.partition("/")[2]
    return {f"{c}/{quote}" for c in currencies if third_currency(market, c)}


def fee_prices(exchange_id: str, pairs: Iterable[str]) -> dict[str, Decimal]:
    """Last price per pair; a pair without one (no such market, no answer) is left out."""
    from trading.sync import ticker_price  # sync imports this module

    prices = {}
    for pair in sorted(set(pairs)):
        try:
            price = ticker_price(market_cache.ticker_snapshot(exchange_id, pair, FEE_PRICE_SECONDS))
        except (RateLimited, ccxt.BaseError) as exc:
            logger.info("No price for a fee in %s on %s: %s", pair, exchange_id, type(exc).__name__)
            continue
        if price > 0:
            prices[pair] = price
    return prices


def value_fees(order: Order, fills: Iterable[Fill], prices: dict[str, Decimal]) -> None:
    """Set ``fee_value`` of the unsaved third-currency fills of ``order`` that have a price."""
    quote = order.market.partition("/")[2]
    for fill in fills:
        if fill.fee and third_currency(order.market, fill.fee_currency):
            price = prices.get(f"{fill.fee_currency}/{quote}")
            fill.fee_value = fill.fee * price if price is not None else None
