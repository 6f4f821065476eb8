"""A bot's accounting from its fills: position, average entry, PnL, fees, drawdown.

Pure functions on Decimals: no database, no exchange, so every figure can be
checked by hand. Average-cost method: buying raises the average entry price,
selling realises ``(price - average entry) * amount`` and leaves the average as
it is. Fees are kept apart from realised PnL and valued in the quote currency.
A fee in a third currency (BNB on Binance: neither base nor quote) counts as
its ``fee_value``, the quote-currency value found when it was booked
(``trading.fees``); without one it is kept in its own currency, apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class FillEvent:
    market: str  # "BTC/USDT"
    side: str  # "buy" | "sell"
    amount: Decimal  # base units filled
    price: Decimal  # quote per base unit
    fee: Decimal = ZERO
    fee_currency: str = ""
    fee_value: Decimal | None = None  # a third-currency fee in the quote currency, if priced

    @property
    def base(self) -> str:
        return self.market.split("/")[0]

    @property
    def quote(self) -> str:
        return self.market.split("/")[1]


@dataclass
class Position:
    amount: Decimal = ZERO
    avg_entry: Decimal = ZERO


@dataclass
class Book:
    """What a bot holds and has earned, in its quote currency."""

    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    realised_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    peak_equity: Decimal = ZERO
    max_drawdown: Decimal = ZERO  # a fraction of the peak, 0..1
    # Third-currency fees no price was found for: not in cash, fees_paid or the result.
    unvalued_fees: dict[str, Decimal] = field(default_factory=dict)

    def position(self, market: str) -> Position:
        return self.positions.setdefault(market, Position())


class OversoldError(ValueError):
    """A sell of more than the bot holds: the fills do not belong to this bot."""


def apply_fill(book: Book, fill: FillEvent) -> None:
    """Update ``book`` with one fill."""
    position = book.position(fill.market)
    notional = fill.amount * fill.price
    fee_in_base = fill.fee if fill.fee_currency == fill.base else ZERO
    # What the fee takes from the bot's cash: a quote fee, or a valued third-currency one
    # (the bot's cost even though the exchange took it from another balance).
    fee_paid_as_cash = fill.fee if fill.fee_currency == fill.quote else ZERO
    if fill.fee and fill.fee_currency not in ("", fill.base, fill.quote):
        if fill.fee_value is None:
            held = book.unvalued_fees.get(fill.fee_currency, ZERO)
            book.unvalued_fees[fill.fee_currency] = held + fill.fee
        else:
            fee_paid_as_cash = fill.fee_value
    fee_in_quote = fee_paid_as_cash + fee_in_base * fill.price
    book.fees_paid += fee_in_quote
    if fill.side == "buy":
        received = fill.amount - fee_in_base
        total = position.amount + received
        # The entry price is what was paid per unit received, fee included where it
        # was taken in base (so it shows in the amount), not where it was paid in quote.
        position.avg_entry = (
            (position.avg_entry * position.amount + notional) / total if total else ZERO
        )
        position.amount = total
        book.cash -= notional + fee_paid_as_cash
    elif fill.side == "sell":
        if fill.amount > position.amount:
            raise OversoldError(
                f"sell of {fill.amount} {fill.base} exceeds the {position.amount} held"
            )
        book.realised_pnl += (fill.price - position.avg_entry) * fill.amount
        position.amount -= fill.amount
        if position.amount == 0:
            position.avg_entry = ZERO
        book.cash += notional - fee_in_quote
    else:
        raise ValueError(f"unknown side {fill.side!r}")


def unrealised_pnl(book: Book, prices: dict[str, Decimal]) -> Decimal:
    return sum(
        ((prices[m] - p.avg_entry) * p.amount for m, p in book.positions.items() if p.amount),
        ZERO,
    )


def equity(book: Book, prices: dict[str, Decimal]) -> Decimal:
    return book.cash + sum(
        (p.amount * prices[m] for m, p in book.positions.items() if p.amount), ZERO
    )


def mark_to_market(book: Book, prices: dict[str, Decimal]) -> Decimal:
    """Value the book at ``prices``; track the equity peak and the deepest drawdown.

    Returns the current drawdown (fraction of the peak).
    """
    value = equity(book, prices)
    book.peak_equity = max(book.peak_equity, value)
    drawdown = (book.peak_equity - value) / book.peak_equity if book.peak_equity > 0 else ZERO
    book.max_drawdown = max(book.max_drawdown, drawdown)
    return drawdown
