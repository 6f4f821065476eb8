"""How plain numbers and times read on every page: shares as percentages, gains and
losses, times in the viewer's zone with its label.

Used by the template filters of strategies and trading (both may import
oneclick's helpers), so a share reads the same on a strategy's page and a bot's.
Money by asset precision is trading's (``trading/formatting.py``).
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateformat import format as date_format

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


def when(value: datetime | None, style: str = "") -> str:
    """A time in the viewer's zone, always labelled: "2026-11-26 09:30 CET".

    ``style`` "date" gives the day only (labelled too), "seconds" adds seconds.
    """
    if value is None:
        return DASH
    try:
        local = timezone.localtime(value) if timezone.is_aware(value) else value
    except OverflowError:
        # An exchange's "no expiry" can be the calendar's last day: a zone east of
        # UTC would put it in the year 10000. Shown in UTC, still labelled.
        local = value.astimezone(dt.UTC)
    pattern = {"date": "Y-m-d", "seconds": "Y-m-d H:i:s"}.get(style, "Y-m-d H:i")
    return f"{date_format(local, pattern)} {_zone_label(local)}"


def _zone_label(local: datetime) -> str:
    name = local.tzname() or "UTC"
    # Zones without an abbreviation give "+01"; the zone's name reads better then.
    if name[:1] in "+-":
        key = getattr(local.tzinfo, "key", None)
        return key or f"UTC{name}"
    return name
