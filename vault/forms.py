from __future__ import annotations

from typing import Any

from django import forms

from vault.exchanges import exchange_choices, exchange_info, required_credentials


def _secret_input() -> forms.PasswordInput:
    # render_value=False: a key or secret is never written back into a page.
    return forms.PasswordInput(
        render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
    )


class LinkCredentialForm(forms.Form):
    exchange_id = forms.ChoiceField(label="Exchange", choices=exchange_choices)
    label = forms.CharField(
        label="Name", max_length=80, help_text="So you recognise it, e.g. “Main Binance account”."
    )
    api_key = forms.CharField(label="API key", max_length=512, widget=_secret_input())
    secret = forms.CharField(
        label="Secret", max_length=2048, widget=_secret_input(), required=False
    )
    passphrase = forms.CharField(
        label="Passphrase",
        max_length=256,
        required=False,
        widget=_secret_input(),
        help_text="Only for exchanges that give one with the key.",
    )
    uid = forms.CharField(
        label="User ID", max_length=128, required=False, help_text="Only where the exchange asks."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        exchange_id = data.get("exchange_id")
        if not exchange_id:
            return data
        name = exchange_info(exchange_id).name
        needed = required_credentials(exchange_id)
        for field, need in (("secret", "secret"), ("passphrase", "password"), ("uid", "uid")):
            if needed[need] and not data.get(field):
                self.add_error(field, f"{name} needs this with its API keys.")
        for field in ("api_key", "secret", "passphrase"):
            value = data.get(field) or ""
            if value != value.strip() or any(c.isspace() for c in value):
                self.add_error(field, "This contains spaces. Copy it again without them.")
        return data
