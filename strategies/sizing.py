"""How big an order is: one pure function for the backtest and for live trading.

A decision means (see ``library.base.Decision``), with ``capital`` being the
bot's allocation (the backtest's starting capital):

- buy f: spend min(cash, f * capital), fee included, at the expected price;
- sell f: sell f of the units held (all of them when f is 1).

The amount is truncated to the market's amount step and refused when it is
below the market's minimum amount or its value below the minimum order value,
as the exchange would refuse it. Fees are charged on the value and rounded to
8 decimals, as exchanges do. No database, no exchange: ``strategies`` must not
depend on ``trading``, so trading imports this.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)
FEE_QUANTUM = Decimal("0.00000001")


@dataclass(frozen=True)
class MarketRules:
    """The filters of one market that decide whether an amount can be traded."""

    amount_step: Decimal | None = None
    min_amount: Decimal | None = None
    min_cost: Decimal | None = None

    @classmethod
    def from_ccxt(cls, market: dict[str, Any]) -> MarketRules:
        """From a ccxt market (``precision`` in either of ccxt's precision modes)."""
        limits = market.get("limits") or {}
        step = _decimal_or_none((market.get("precision") or {}).get("amount"))
        if (
            step is not None
            and step >= 1
            and step == step.to_integral_value()
            and market.get("precisionMode") == "digits"
        ):
            step = Decimal(1).scaleb(-int(step))
        return cls(
            amount_step=step if step and step > 0 else None,
            min_amount=_decimal_or_none((limits.get("amount") or {}).get("min")),
            min_cost=_decimal_or_none((limits.get("cost") or {}).get("min")),
        )


@dataclass(frozen=True)
class Sized:
    """An amount to trade and what it ties up until it is filled.

    ``reserve`` is quote (fee included) for a buy and base for a sell.
    """

    amount: Decimal
    reserve: Decimal


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str


def _decimal_or_none(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def to_step(value: Decimal, step: Decimal | None) -> Decimal:
    """``value`` truncated to a multiple of ``step`` (unchanged without a step)."""
    if not step or step <= 0:
        return value
    return (value / step).to_integral_value(ROUND_DOWN) * step


def fee_for(value: Decimal, fee_rate: Decimal) -> Decimal:
    """The fee an exchange charges on a trade worth ``value``."""
    return (value * fee_rate).quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def size_order(
    *,
    side: str,
    fraction: Decimal,
    capital: Decimal,
    cash: Decimal,
    held: Decimal,
    price: Decimal,
    fee_rate: Decimal,
    rules: MarketRules,
) -> Sized | Refusal:
    """The amount to buy or sell, or why there is none.

    ``cash`` is what the bot has not spent or reserved; ``held`` the base units it
    holds and has not reserved for a sale; ``price`` the price the order is
    expected to fill at (slippage included).
    """
    if not ZERO < fraction <= 1:
        return Refusal("oversize", "The signal asks for more than the whole allocation.")
    if price <= 0:
        return Refusal("no_price", "The exchange gave no price for the market.")
    if side == "buy":
        budget = min(max(cash, ZERO), fraction * capital)
        if budget <= 0:
            return Refusal("no_cash", "The bot has no cash left in its allocation.")
        amount = to_step(budget / (1 + fee_rate) / price, rules.amount_step)
        reserve = budget
    elif side == "sell":
        if held <= 0:
            return Refusal("nothing_held", "The bot holds nothing of this market to sell.")
        amount = to_step(held if fraction == 1 else held * fraction, rules.amount_step)
        reserve = amount
    else:
        return Refusal("hold", "The strategy says hold.")
    value = amount * price
    if amount <= 0 or (rules.min_amount and amount < rules.min_amount):
        return Refusal("below_minimum", f"{_text(amount)} is below the market's minimum amount.")
    if rules.min_cost and value < rules.min_cost:
        return Refusal(
            "below_minimum",
            f"{_text(value)} is below the market's minimum order value {_text(rules.min_cost)}.",
        )
    return Sized(amount=amount, reserve=reserve)
