"""How plain numbers read on every page: shares as percentages, gains and losses.

Used by the template filters of strategies and trading (both may import
oneclick's helpers), so a share reads the same on a strategy's page and a bot's.
Money by asset precision is trading's (``trading/formatting.py``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

DASH = "—"


def to_decimal(value: object) -> Decimal | None:
    """``value`` as a finite Decimal, or None for nothing, text or infinity."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def percent(value: object, places: int = 1, *, signed: bool = False) -> str:
    """A fraction as a percentage, grouped: 0.1234 → "12.3%", 12.5 → "1,250.0%"; None → a dash.

    ``signed`` shows the sign of a gain too ("+5.0%").
    """
    number = to_decimal(value)
    if number is None:
        return DASH
    sign = "+" if signed else ""
    return f"{number * 100:{sign},.{int(places)}f}%"


def tone(value: object) -> str:
    """CSS class for a result: "gain", "loss" or nothing (zero or no number)."""
    number = to_decimal(value)
    if not number:
        return ""
    return "gain" if number > 0 else "loss"
