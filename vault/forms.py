from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse

from oneclick.names import NameField
from vault.exchanges import (
    SUPPORTED,
    exchange_choices,
    exchange_info,
    key_format_errors,
    required_credentials,
)


def _secret_input() -> forms.PasswordInput:
    # render_value=False: a key or secret is never written back into a page.
    return forms.PasswordInput(
        render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
    )


def _any_needs(credential: str) -> bool:
    return any(required_credentials(info.id)[credential] for info in SUPPORTED)


def exchange_hints() -> dict[str, dict[str, Any]]:
    """What the key form's script needs per exchange (no secrets: names and flags)."""
    return {
        info.id: {
            "name": info.name,
            "secret": required_credentials(info.id)["secret"],
            "confirm": info.may_need_confirmation,
            "guide": reverse("vault:guide", args=[info.guide]) if info.guide else "",
        }
        for info in SUPPORTED
    }


class LinkCredentialForm(forms.Form):
    exchange_id = forms.ChoiceField(label="Exchange", choices=exchange_choices)
    label = NameField(
        label="Name", max_length=80, help_text="So you recognise it, e.g. “Main Binance account”."
    )
    # One Trading's key is a signed token of about 1,000 characters.
    api_key = forms.CharField(label="API key", max_length=4096, widget=_secret_input())
    secret = forms.CharField(
        label="Secret",
        max_length=2048,
        widget=_secret_input(),
        required=False,
        help_text="Called “Secret key” on Binance, “Private key” on Kraken. "
        "One Trading keys have none.",
    )
    trade_only_confirmed = forms.BooleanField(
        label="This key cannot withdraw: its withdraw permission is off",
        required=False,
        help_text="Needed only where we cannot check it ourselves (some One Trading keys).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offered only while a supported exchange issues them (none does today).
        if _any_needs("password"):
            self.fields["passphrase"] = forms.CharField(
                label="Passphrase", max_length=256, required=False, widget=_secret_input()
            )
        if _any_needs("uid"):
            self.fields["uid"] = forms.CharField(label="User ID", max_length=128, required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        exchange_id = data.get("exchange_id")
        if not exchange_id:
            return data
        name = exchange_info(exchange_id).name
        needed = required_credentials(exchange_id)
        for field, need in (("secret", "secret"), ("passphrase", "password"), ("uid", "uid")):
            if field not in self.fields:
                continue
            if needed[need] and not data.get(field):
                self.add_error(field, f"{name} needs this with its API keys.")
            elif not needed[need] and data.get(field):
                self.add_error(field, f"{name} keys have no such part: leave this empty.")
        for field in ("api_key", "secret", "passphrase"):
            value = data.get(field) or ""
            if value != value.strip() or any(c.isspace() for c in value):
                self.add_error(field, "This contains spaces. Copy it again without them.")
        problems = key_format_errors(
            exchange_id, api_key=data.get("api_key") or "", secret=data.get("secret") or ""
        )
        for field, message in problems.items():
            if field not in self.errors:
                self.add_error(field, message)
        return data
