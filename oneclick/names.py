"""Names people give their things (bots, keys): one line of visible text.

A name reaches email subjects, where a line break makes the mail fail to send
(Django refuses header injection), and lists of bots and keys, where a
direction override shows it reversed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms

# Bidirectional embeddings, overrides and isolates (not ordinary letters of any script).
_DIRECTION_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
NOT_ONE_LINE = "Use a name with no line breaks, tabs or direction controls."
NOT_VISIBLE = "Use a name with at least one visible letter, digit or sign."
# Letters that draw nothing: fillers and the blank Braille pattern.
_BLANK_MARKS = set("\u115f\u1160\u2800\u3164\uffa0")


def is_one_line(text: str) -> bool:
    return not any(
        unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _DIRECTION_CONTROLS for c in text
    )


def is_visible(text: str) -> bool:
    """Whether ``text`` shows anything: a name of zero-width characters (U+200B, U+2060,
    U+FEFF) and spaces reads as blank in every list and email, so no one can tell it apart."""
    return any(unicodedata.category(c)[0] in "LNPS" and c not in _BLANK_MARKS for c in text)


def one_line(text: str) -> str:
    """``text`` with every run of line breaks and other control characters as one space."""
    return re.sub(r"\s*[\x00-\x1f\x7f-\x9f\u2028\u2029]+\s*", " ", text).strip()


class NameField(forms.CharField):
    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not is_one_line(value):
            raise forms.ValidationError(NOT_ONE_LINE, code="not_one_line")
        if value and not is_visible(value):
            raise forms.ValidationError(NOT_VISIBLE, code="not_visible")
