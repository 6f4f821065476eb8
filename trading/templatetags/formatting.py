"""``{% load formatting %}``: money by asset precision, times labelled with their zone."""

from __future__ import annotations

from django import template
from django.core.exceptions import ObjectDoesNotExist

from oneclick import formatting
from oneclick.formatting import to_decimal
from strategies.charts import backtest_series, calmar
from strategies.templatetags.strategy_format import signal_words, signed_percent
from trading.formatting import format_money

register = template.Library()


@register.filter
def money(value: object, unit: str = "") -> str:
    """``{{ bot.equity|money:"USDT" }}`` → "1,000.00 USDT".

    ``unit`` is an asset, or a market for an amount traded on it (its base asset).
    A trailing "!" leaves the unit out (for table cells under a labelled header).
    """
    unit = str(unit or "")
    return format_money(value, unit.rstrip("!"), with_unit=not unit.endswith("!"))


@register.filter
def quote_asset(market: object) -> str:
    """``"BTC/USDT"`` → ``"USDT"``: what a market's prices and costs are in."""
    return str(market or "").partition("/")[2]


@register.filter
def pnl(value: object, unit: str = "") -> str:
    """``money`` with the sign of a gain shown: "+12.50 USDT", "-3.10 USDT" (a trailing
    "!" leaves the unit out, as for ``money``)."""
    unit = str(unit or "")
    return format_money(value, unit.rstrip("!"), signed=True, with_unit=not unit.endswith("!"))


@register.filter
def mul(value: object, other: object) -> object:
    """Exact product of two amounts (a fill's cost: amount times price)."""
    a, b = to_decimal(value), to_decimal(other)
    return None if a is None or b is None else a * b


# The same number filters as the strategy pages' (one definition, oneclick/formatting.py).
register.filter("tone", formatting.tone)
register.filter("percent", formatting.percent)
register.filter("signed_percent", signed_percent)


register.filter("when", formatting.when)


@register.simple_tag
def backtest_charts(backtest: object) -> dict[str, object]:
    """``{% backtest_charts backtest as charts %}``: series, benchmark and Calmar ratio."""
    if backtest is None:
        return {}
    series = backtest_series(backtest)
    return {
        "backtest": backtest,
        "series": series,
        "calmar": calmar(getattr(backtest, "cagr", None), getattr(backtest, "max_drawdown", None)),
        "buy_and_hold": series.pop("buy_and_hold", None),
    }


# A signal in words reads the same on the strategy pages (one definition).
register.filter("signal_words", signal_words)


@register.filter
def decision_words(decision: object) -> str:
    """A decision's signal in words and, once an order exists, what it traded:
    "Target 45% of the allocation in BTC/USDT → bought 0.01 BTC".
    """
    # The bot's markets: a multi-market bot's target is of one market's share.
    words = signal_words(
        getattr(decision, "signal", None), getattr(getattr(decision, "bot", None), "markets", None)
    )
    try:
        order = decision.order  # type: ignore[attr-defined]
    except (AttributeError, ObjectDoesNotExist):
        return words
    if order is None:
        return words
    if order.filled:
        verb = "bought" if order.side == "buy" else "sold"
        return f"{words} → {verb} {format_money(order.filled, order.market)}"
    return f"{words} → order to {order.side} {format_money(order.amount, order.market)}"
