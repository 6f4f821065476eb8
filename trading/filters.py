"""The history page's filter form: bot, market, side, status and a date range."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone

from trading.models import Bot, Order
from trading.selectors import HistoryFilter


class HistoryFilterForm(forms.Form):
    bot = forms.ChoiceField(required=False)
    market = forms.ChoiceField(required=False)
    side = forms.ChoiceField(
        required=False, choices=[("", "Any side"), ("buy", "Buy"), ("sell", "Sell")]
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Order.Status.choices])
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

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
