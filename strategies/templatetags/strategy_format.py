from __future__ import annotations

from django import template

from oneclick.formatting import DASH, percent, to_decimal, tone, when

register = template.Library()
# One definition of these for every page (oneclick/formatting.py); trading's filters share them.
register.filter("percent", percent)
register.filter("tone", tone)
register.filter("when", when)


@register.filter
def signed_percent(value: object, places: int = 1) -> str:
    """0.05 → "+5.0%": a return, with its sign."""
    return percent(value, places, signed=True)


@register.filter
def num(value: object, places: int = 2) -> str:
    number = to_decimal(value)
    if number is None:
        return DASH
    return f"{number:,.{int(places)}f}"


@register.filter
def price_in_quote(value: object, market: object) -> str:
    """``100`` on ``"BTC/USDT"`` → "100.00 USDT": a price says what it is in (the
    market's quote asset), as trading's pages do."""
    shown = num(value)
    quote = str(market or "").partition("/")[2]
    return f"{shown} {quote}" if shown != DASH and quote else shown


@register.filter
def tone_cost(value: object) -> str:
    """CSS class for a cost: a positive one is a loss, a negative one a gain."""
    number = to_decimal(value)
    return tone(-number) if number is not None else ""


@register.filter
def seconds_as_duration(value: object) -> str:
    """28800 → "8 h"; 5400 → "1 h 30 min"."""
    number = to_decimal(value)
    if number is None:
        return DASH
    hours, minutes = divmod(int(number) // 60, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


@register.filter
def signal_words(signal: object, markets: object = None) -> str:
    """What a signal asks for, in words: "Target 45% of the allocation in BTC/USDT".

    Never the raw action and fraction ("target 0.450000"): a target is a share of
    the allocation's equity to hold, a buy spends a share of the allocation, a
    sell sells a share of the position. Given the bot's ``markets``, a target of a
    bot of n markets says it is of that market's 1/n share (strategies.sizing).
    """
    action = getattr(signal, "action", "")
    market = getattr(signal, "market", "")
    share = percent(getattr(signal, "fraction", None), 0)
    sleeves = len(markets) if isinstance(markets, list | tuple) else 1
    if action == "target":
        if sleeves > 1:
            return f"Target {share} of the allocation's 1/{sleeves} share for {market}"
        return f"Target {share} of the allocation in {market}"
    if action == "buy":
        return f"Buy {market} with {share} of the allocation"
    if action == "sell":
        return f"Sell {share} of the {market} position"
    return f"Hold {market}"


@register.filter
def minutes_as_duration(value: object) -> str:
    """240 → "4 h": a schedule's period."""
    number = to_decimal(value)
    return DASH if number is None else seconds_as_duration(number * 60)
