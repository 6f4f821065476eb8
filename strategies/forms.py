from __future__ import annotations

from typing import Any, cast

from django import forms

from strategies.models import Strategy

PERIODS = [(90, "Last 90 days"), (365, "Last year"), (730, "Last 2 years"), (1826, "Last 5 years")]


REAL, EXCHANGE = "real", "exchange"


class BacktestRequestForm(forms.Form):
    market = forms.ChoiceField()
    # A field named like BaseForm.data: the form metaclass moves it into ``fields``,
    # so it never shadows the bound data at run time; only the type checker sees both.
    data = forms.ChoiceField(label="Market data", initial=REAL, required=False)  # type: ignore[assignment]
    days = forms.TypedChoiceField(
        choices=PERIODS,
        coerce=int,
        initial=365,
        label="Period",
        help_text="Of the exchange's candles; a backtest on the real history covers all of it.",
    )

    def __init__(self, *args: Any, strategy: Strategy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        market = cast(forms.ChoiceField, self.fields["market"])
        market.choices = [(symbol, symbol) for symbol in strategy.markets]
        own = strategy.exchange_id
        if own == "paper":
            own = (
                "the paper exchange (synthetic demo prices: a demo of the page, "
                "saying nothing about real performance)"
            )
        data = cast(forms.ChoiceField, self.fields["data"])
        data.choices = [
            (REAL, "Real Binance spot history shipped with OneClick (full history)"),
            (EXCHANGE, f"Candles of {own}"),
        ]

    def clean_data(self) -> str:
        # An older form without the field: the strategy's own exchange, as before.
        return self.cleaned_data.get("data") or EXCHANGE
