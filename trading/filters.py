"""The history page's filter form: bot, market, side, status and a date range."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone

from trading.models import Bot, Order
from trading.selectors import HistoryFilter

# Whole days in any zone stay datetimes: the calendar's first and last days, moved
# to UTC or past midnight, overflow it. Nothing traded before 2000 or after 2999.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
OUT_OF_RANGE = f"Enter a date between {FIRST_DAY:%Y-%m-%d} and {LAST_DAY:%Y-%m-%d}."


class HistoryDateField(forms.DateField):
    widget = forms.DateInput(
        attrs={"type": "date", "min": f"{FIRST_DAY:%Y-%m-%d}", "max": f"{LAST_DAY:%Y-%m-%d}"}
    )

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise forms.ValidationError(OUT_OF_RANGE, code="out_of_range")


class HistoryFilterForm(forms.Form):
    bot = forms.ChoiceField(required=False)
    market = forms.ChoiceField(required=False)
    side = forms.ChoiceField(
        required=False, choices=[("", "Any side"), ("buy", "Buy"), ("sell", "Sell")]
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Order.Status.choices])
    since = HistoryDateField(required=False, label="From")
    until = HistoryDateField(required=False, label="To (inclusive)")

    def __init__(self, *args: Any, bots: list[Bot], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["bot"]).choices = [("", "All bots")] + [
            (str(b.pk), b.name) for b in bots
        ]
        markets = sorted({m for b in bots for m in b.markets})
        cast(forms.ChoiceField, self.fields["market"]).choices = [("", "All markets")] + [
            (m, m) for m in markets
        ]

    def to_filter(self) -> HistoryFilter:
        """The filter; dates are whole days in the viewer's time zone."""
        if not self.is_valid():
            return HistoryFilter()
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def start_of(day: date | None) -> datetime | None:
            return datetime.combine(day, time.min, tzinfo=zone) if day else None

        until = data.get("until")
        return HistoryFilter(
            bot=data.get("bot") or "",
            market=data.get("market") or "",
            side=data.get("side") or "",
            status=data.get("status") or "",
            since=start_of(data.get("since")),
            until=start_of(until + timedelta(days=1)) if until else None,
        )
