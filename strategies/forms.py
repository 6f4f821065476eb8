from __future__ import annotations

from typing import Any, cast

from django import forms

from strategies.models import Strategy

PERIODS = [(90, "Last 90 days"), (365, "Last year"), (730, "Last 2 years"), (1826, "Last 5 years")]


class BacktestRequestForm(forms.Form):
    market = forms.ChoiceField()
    days = forms.TypedChoiceField(choices=PERIODS, coerce=int, initial=365, label="Period")

    def __init__(self, *args: Any, strategy: Strategy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        market = cast(forms.ChoiceField, self.fields["market"])
        market.choices = [(symbol, symbol) for symbol in strategy.markets]
