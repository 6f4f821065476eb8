from __future__ import annotations

from django import forms


class OTPCodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        strip=True,
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        error_messages={"required": "Enter the code from your authenticator app."},
    )


class TOTPConfirmForm(forms.Form):
    code = forms.RegexField(
        label="Code from your app",
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        error_messages={
            "required": "Enter the 6-digit code your app shows.",
            "invalid": "The code is 6 digits.",
        },
    )


class TwoFactorDisableForm(OTPCodeForm):
    confirm = forms.BooleanField(
        label="I understand my account will be protected by my password only.",
        error_messages={"required": "Tick the box to confirm."},
    )
