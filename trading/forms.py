from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import User
from oneclick.names import NameField
from strategies.models import Strategy
from trading.health import min_allocation, min_order_value
from vault.exchanges import placement_unavailable
from vault.selectors import credentials_of

if TYPE_CHECKING:
    from strategies.models import Strategy
    from vault.models import ExchangeCredential


# What a person typed that is not an allocation, said in plain words: Django's own
# ("Ensure that there are no more than 20 digits in total.") counts digits.
ALLOCATION_ERRORS = {
    "invalid": "Enter the allocation as a number, like 1000 or 250.50.",
    "min_value": "Enter an allocation of at least 1.",
    "max_digits": "That allocation is too large.",
    "max_whole_digits": "That allocation is too large.",
    "max_decimal_places": "Use at most 2 decimals (cents) for the allocation.",
}


class AllocationField(forms.DecimalField):
    """An amount of money as people type it, read in plain notation, one message per mistake.

    "1E3" is 1000 (not ``Decimal("1E+3")``, which would be stored and logged so), and
    an amount wrong in two ways ("1e-400": below 1 and 400 decimals) gets the first
    message only, not "at least 1" and "too large" at once.
    """

    def to_python(self, value: Any) -> Any:
        number = super().to_python(value)
        exponent = number.as_tuple().exponent if isinstance(number, Decimal) else 0
        if isinstance(number, Decimal) and isinstance(exponent, int) and exponent > 0:
            with contextlib.suppress(InvalidOperation):  # more digits than Decimal holds
                number = number.quantize(Decimal(1))
        return number

    def run_validators(self, value: Any) -> None:
        if value in self.empty_values:
            return
        for validator in self.validators:
            try:
                validator(value)
            except ValidationError as error:  # the first one is the one shown, in our words
                if hasattr(error, "code") and error.code in self.error_messages:
                    error.message = self.error_messages[error.code]
                raise


def allocation_field(**kwargs: Any) -> forms.DecimalField:
    return AllocationField(
        min_value=Decimal("1"),
        max_digits=20,
        decimal_places=2,
        error_messages=ALLOCATION_ERRORS,
        **kwargs,
    )


class CredentialChoiceField(forms.ModelChoiceField["ExchangeCredential"]):
    """Names the keys whose exchange cannot take orders yet, before a bot is made on one."""

    def label_from_instance(self, obj: ExchangeCredential) -> str:
        unavailable = placement_unavailable(obj.exchange_id)
        return f"{obj} — {unavailable}" if unavailable else str(obj)


class BotForm(forms.Form):
    name = NameField(max_length=80)
    credential = CredentialChoiceField(queryset=None, label="Exchange key", empty_label=None)
    strategy: forms.ModelChoiceField[Strategy] = forms.ModelChoiceField(
        queryset=None, empty_label=None
    )
    quote_currency = forms.ChoiceField(
        choices=[("USDT", "USDT"), ("USDC", "USDC")], label="Quote currency"
    )
    markets = forms.MultipleChoiceField(
        choices=[], widget=forms.CheckboxSelectMultiple, help_text="Markets the bot may trade."
    )
    allocation = allocation_field(help_text="Funds the bot may use, in the quote currency above.")
    join_now = forms.BooleanField(
        required=False,
        label="Join the strategy's current position now",
        help_text=(
            "Act at once on the strategy's latest fresh signals that hold a position (a buy, "
            "or a target above 0) instead of waiting for its next run. They go through every "
            "usual check."
        ),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        credential, allocation = data.get("credential"), data.get("allocation")
        unavailable = credential and placement_unavailable(credential.exchange_id)
        if unavailable:
            self.add_error(
                "credential",
                f"{unavailable[0].upper()}{unavailable[1:]}: a bot on this key could not "
                "trade. Choose a key on Binance, Binance US or Kraken.",
            )
        if credential is not None and allocation is not None:
            least = min_allocation(credential.exchange_id, len(set(data.get("markets") or ())))
            if allocation < least:
                quote = data.get("quote_currency") or ""
                self.add_error(
                    "allocation",
                    f"The market's minimum order is {min_order_value(credential.exchange_id):f} "
                    f"{quote}; allocate at least {least:f} {quote} so the strategy's first order "
                    "in each market clears it.",
                )
        return data

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._strategies = Strategy.objects.filter(is_active=True).order_by("name")
        cast("forms.ModelChoiceField[Any]", self.fields["credential"]).queryset = credentials_of(
            user
        ).filter(status="active")
        cast("forms.ModelChoiceField[Any]", self.fields["strategy"]).queryset = self._strategies
        markets = sorted({m for s in self._strategies for m in s.markets})
        cast(forms.ChoiceField, self.fields["markets"]).choices = [(m, m) for m in markets]

    def strategy_choices(self) -> QuerySet[Strategy]:
        """The strategies the form offers (the page shows each one's schedule)."""
        return self._strategies


class AllocationForm(forms.Form):
    allocation = allocation_field()


class StopForm(forms.Form):
    sell_positions = forms.BooleanField(
        required=False, label="Also sell the bot's positions back to its quote currency"
    )
