"""Held positions valued at the market between trades.

A sync marks a bot's positions at the price of the order it books, so a bot
holding a position for days would show the entry-day price and PnL on every
page while its equity chart moved. Each snapshot slot first asks every
exchange a bot holds something on for the market's ticker (through the shared
snapshot and budgets: one request per (exchange, market) for all its bots) and
re-values the books at it; the snapshot then copies those stored totals, so
the chart's last point and the headline figures agree.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from uuid import UUID

import ccxt

from trading import market_cache
from trading.events import push_many
from trading.exchange_calls import RateLimited
from trading.models import Bot, Position
from trading.sync import mark_book, ticker_price

logger = logging.getLogger(__name__)

# A ticker younger than this (a signal's, another worker's) is reused rather than asked again.
MARK_TICKER_SECONDS = 300


def market_prices(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    """The last price per (exchange, market); a market whose exchange does not answer
    with a usable price is left out (its positions keep their last mark).

    An exchange that is down or holding us back (a timeout, a 5xx, a 429/418) is not
    asked for its other markets in this round: each would wait out the same timeout.
    """
    prices = {}
    unreachable: set[str] = set()
    for exchange_id, market in sorted(set(keys)):
        if exchange_id in unreachable:
            continue
        try:
            price = ticker_price(
                market_cache.ticker_snapshot(exchange_id, market, MARK_TICKER_SECONDS)
            )
        except Exception as exc:  # any exchange failure only skips this market
            if isinstance(exc, ccxt.NetworkError | RateLimited):
                unreachable.add(exchange_id)
            logger.warning(
                "No %s price from %s to value positions: %s",
                market,
                exchange_id,
                type(exc).__name__,
            )
            continue
        if price > 0:
            prices[(exchange_id, market)] = price
    return prices


def mark_held_positions() -> int:
    """Re-value every bot that is not stopped and holds something; returns bots marked."""
    held = (
        Position.objects.filter(amount__gt=0)
        .exclude(bot__status=Bot.Status.STOPPED)
        .values_list("bot_id", "bot__owner_id", "bot__credential__exchange_id", "market")
    )
    markets_of: dict[UUID, list[tuple[str, str]]] = defaultdict(list)
    owner_of: dict[UUID, int] = {}
    for bot_id, owner_id, exchange_id, market in held:
        markets_of[bot_id].append((exchange_id, market))
        owner_of[bot_id] = owner_id
    prices = market_prices(key for keys in markets_of.values() for key in keys)
    marked: dict[int, list[str]] = defaultdict(list)
    for bot_id, keys in markets_of.items():
        bot_prices = {market: prices[(ex, market)] for ex, market in keys if (ex, market) in prices}
        if bot_prices and mark_book(bot_id, bot_prices):
            marked[owner_of[bot_id]].append(str(bot_id))
    # Open pages show the new values without a reload: one push per owner.
    push_many([(owner, "marks", {"bots": bots}) for owner, bots in marked.items()])
    return sum(len(bots) for bots in marked.values())
