from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()
DASH = "—"


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def pct(value: object, places: int = 1) -> str:
    """0.1234 → "12.3%"; None → a dash."""
    number = _decimal(value)
    if number is None:
        return DASH
    return f"{number * 100:.{int(places)}f}%"


@register.filter
def signed_pct(value: object, places: int = 1) -> str:
    number = _decimal(value)
    if number is None:
        return DASH
    return f"{number * 100:+.{int(places)}f}%"


@register.filter
def num(value: object, places: int = 2) -> str:
    number = _decimal(value)
    if number is None:
        return DASH
    return f"{number:,.{int(places)}f}"


@register.filter
def tone(value: object) -> str:
    """CSS class for a number: gain, loss or nothing."""
    number = _decimal(value)
    if number is None or number == 0:
        return ""
    return "gain" if number > 0 else "loss"


@register.filter
def tone_cost(value: object) -> str:
    """CSS class for a cost: a positive one is a loss, a negative one a gain."""
    number = _decimal(value)
    return tone(-number) if number is not None else ""


@register.filter
def seconds_as_duration(value: object) -> str:
    """28800 → "8 h"; 5400 → "1 h 30 min"."""
    number = _decimal(value)
    if number is None:
        return DASH
    hours, minutes = divmod(int(number) // 60, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"
