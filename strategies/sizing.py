"""How big an order is: one pure function for the backtest and for live trading.

A decision means (see ``library.base.Decision``), with ``capital`` being the
bot's allocation (the backtest's starting capital):

- buy f: spend min(cash, f * capital), fee included, at the expected price;
- sell f: sell f of the units held (all of them when f is 1);
- target x: hold x of this market's share of the allocation's equity in this
  market: buy or sell the difference. The equity is free cash, this market's
  position at the market price and what the bot has ``committed`` elsewhere
  (its other markets' positions, quote tied up in unsettled orders); a bot of
  ``sleeves`` markets gives each an equal share of it, so two markets both at
  target 1 end half and half instead of the first one taking all the cash,
  unless it is within the rebalance band (``rebalance_band``: 5 % of equity,
  wider when the measured cost of a trade is above the backtests' default), so
  small drifts are not traded away in fees; a target of 0 sells every unit.

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
BUY, SELL, TARGET = "buy", "sell", "target"
# A target's position is left alone within this share of equity of it...
REBALANCE_BAND = Decimal("0.05")
# ...at the cost of a trade the backtests assume (0.1 % fee + 0.05 % slippage);
# a measured cost above it widens the band in proportion, up to MAX_BAND.
REFERENCE_COST = Decimal("0.0015")
MAX_BAND = Decimal("0.25")


@dataclass(frozen=True)
class MarketRules:
    """The filters of one market that decide whether an amount can be traded."""

    amount_step: Decimal | None = None
    min_amount: Decimal | None = None
    min_cost: Decimal | None = None
    # Currency codes, only to name the units in a refusal's message.
    base: str = ""
    quote: str = ""

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
            base=str(market.get("base") or ""),
            quote=str(market.get("quote") or ""),
        )


@dataclass(frozen=True)
class Sized:
    """An order to place: its side, amount, the price it is expected to fill at,
    and what it ties up until it is filled.

    ``reserve`` is quote (fee included) for a buy and base for a sell.
    """

    amount: Decimal
    reserve: Decimal
    side: str
    price: Decimal


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


def _unit(code: str) -> str:
    return f" {code}" if code else ""


def share_refusal(action: str, fraction: Decimal) -> Refusal | None:
    """Why a signal's share is out of range for its action, or None.

    A buy or sell moves a share in (0, 1]; a target holds a share in [0, 1] (0:
    out of the market). Bots check this before anything else is sized.
    """
    if not isinstance(fraction, Decimal) or not fraction.is_finite():
        return Refusal("oversize", "The signal's share is not a number.")
    if action == TARGET:
        if not ZERO <= fraction <= 1:
            return Refusal(
                "oversize", "The signal's target is outside 0 to 1 of the allocation's equity."
            )
        return None
    if not ZERO < fraction <= 1:
        return Refusal("oversize", "The signal asks for more than the whole allocation.")
    return None


def rebalance_band(cost: Decimal | None) -> Decimal:
    """How far (a share of equity) a position may sit from its target untraded.

    ``REBALANCE_BAND`` at the costs the backtests assume (``REFERENCE_COST``),
    widened in proportion when the measured cost of a trade is higher (never
    narrowed), up to ``MAX_BAND``: a costlier market is rebalanced less often.
    """
    if cost is None or not cost.is_finite() or cost <= REFERENCE_COST:
        return REBALANCE_BAND
    return min(MAX_BAND, REBALANCE_BAND * cost / REFERENCE_COST)


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
    buy_markup: Decimal = ZERO,
    sell_markdown: Decimal = ZERO,
    cost: Decimal | None = None,
    sleeves: int = 1,
    committed: Decimal = ZERO,
) -> Sized | Refusal:
    """The order to place for a decision, or why there is none.

    ``side`` is the decision's action (buy, sell or target); ``cash`` is what
    the bot has not spent or reserved; ``held`` the base units it holds and has
    not reserved for a sale; ``price`` the market price. A buy is expected to
    fill at ``price * (1 + buy_markup)`` and a sell at ``price * (1 -
    sell_markdown)`` (slippage, or a safety buffer on what a buy reserves).
    ``cost``, the estimated cost of a trade as a share of its value (fees and
    slippage, measured on live fills), widens a target's rebalance band
    (``rebalance_band``). ``sleeves`` (the bot's number of markets) and
    ``committed`` (value held outside this market's cash and position) matter
    to targets only; a bot of one market passes neither. Pure: the backtest and
    live execution both call it.
    """
    refusal = share_refusal(side, fraction)
    if refusal is not None:
        return refusal
    if price <= 0:
        return Refusal("no_price", "The exchange gave no price for the market.")
    buy_price = price * (1 + buy_markup)
    sell_price = price * (1 - sell_markdown)
    if side == TARGET:
        return _size_target(
            target=fraction,
            cash=max(cash, ZERO),
            held=max(held, ZERO),
            price=price,
            buy_price=buy_price,
            sell_price=sell_price,
            fee_rate=fee_rate,
            rules=rules,
            band=rebalance_band(cost),
            sleeves=max(sleeves, 1),
            committed=max(committed, ZERO),
        )
    if side == BUY:
        budget = min(max(cash, ZERO), fraction * capital)
        return _buy(budget, buy_price, fee_rate, rules)
    if side == SELL:
        if held <= 0:
            return Refusal("nothing_held", "The bot holds nothing of this market to sell.")
        amount = to_step(held if fraction == 1 else held * fraction, rules.amount_step)
        return _checked(SELL, amount, amount, sell_price, rules)
    return Refusal("hold", "The strategy says hold.")


def _size_target(
    *,
    target: Decimal,
    cash: Decimal,
    held: Decimal,
    price: Decimal,
    buy_price: Decimal,
    sell_price: Decimal,
    fee_rate: Decimal,
    rules: MarketRules,
    band: Decimal,
    sleeves: int,
    committed: Decimal,
) -> Sized | Refusal:
    # This market's equal share of everything the allocation holds (a bot of
    # one market with nothing in flight: free cash plus its position).
    position = held * price
    equity = (cash + position + committed) / sleeves
    if equity <= 0:
        return Refusal("no_cash", "The bot has no cash left in its allocation.")
    gap = target * equity - position
    if target == 0:
        # Out of the market means out: every unit is sold, whatever the band.
        if held <= 0:
            return Refusal("at_target", "The bot holds nothing of this market, as targeted.")
        amount = to_step(held, rules.amount_step)
        return _checked(SELL, amount, amount, sell_price, rules)
    if abs(gap) <= band * equity:
        return Refusal(
            "at_target",
            f"The position is within {_text((band * 100).quantize(Decimal('0.1')))} % of "
            "the allocation's equity of its target: not worth a trade's costs.",
        )
    if gap > 0:
        return _buy(min(cash, gap), buy_price, fee_rate, rules)
    amount = to_step(min(held, -gap / price), rules.amount_step)
    return _checked(SELL, amount, amount, sell_price, rules)


def _buy(budget: Decimal, price: Decimal, fee_rate: Decimal, rules: MarketRules) -> Sized | Refusal:
    """Spend ``budget``, fee included, at ``price``."""
    if budget <= 0:
        return Refusal("no_cash", "The bot has no cash left in its allocation.")
    amount = to_step(budget / (1 + fee_rate) / price, rules.amount_step)
    return _checked(BUY, amount, budget, price, rules)


def _checked(
    side: str, amount: Decimal, reserve: Decimal, price: Decimal, rules: MarketRules
) -> Sized | Refusal:
    value = amount * price
    base, quote = _unit(rules.base), _unit(rules.quote)
    if amount <= 0 or (rules.min_amount and amount < rules.min_amount):
        least = f" {_text(rules.min_amount)}{base}" if rules.min_amount else ""
        return Refusal(
            "below_minimum", f"{_text(amount)}{base} is below the market's minimum amount{least}."
        )
    if rules.min_cost and value < rules.min_cost:
        return Refusal(
            "below_minimum",
            f"{_text(value.quantize(FEE_QUANTUM))}{quote} is below the market's minimum "
            f"order value {_text(rules.min_cost)}{quote}.",
        )
    return Sized(amount=amount, reserve=reserve, side=side, price=price)
