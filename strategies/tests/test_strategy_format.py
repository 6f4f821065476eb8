from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.templatetags import strategy_format
from strategies.templatetags.strategy_format import (
    num,
    percent,
    seconds_as_duration,
    signed_percent,
    tone,
)
from trading.templatetags import formatting


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.1234"), "12.3%"),
        (None, "—"),
        ("", "—"),
        ("x", "—"),
        ("Infinity", "—"),
        (0, "0.0%"),
        (Decimal("12.5"), "1,250.0%"),
    ],
)
def test_shares_read_as_percentages(value, expected) -> None:
    assert percent(value) == expected


def test_returns_carry_their_sign() -> None:
    assert signed_percent(Decimal("0.05")) == "+5.0%"
    assert signed_percent(Decimal("-0.5"), 2) == "-50.00%"


def test_strategy_and_trading_pages_share_one_percent_and_one_tone_filter() -> None:
    for name in ("percent", "tone"):
        assert strategy_format.register.filters[name] is formatting.register.filters[name]


def test_numbers_are_grouped_and_gains_and_losses_coloured() -> None:
    assert num(Decimal("12345.678")) == "12,345.68"
    assert (tone(Decimal("0.1")), tone(Decimal("-0.1")), tone(0), tone(None)) == (
        "gain",
        "loss",
        "",
        "",
    )


@pytest.mark.parametrize(
    ("seconds", "expected"), [(28800, "8 h"), (5400, "1 h 30 min"), (600, "10 min")]
)
def test_durations_read_in_hours_and_minutes(seconds: int, expected: str) -> None:
    assert seconds_as_duration(seconds) == expected
