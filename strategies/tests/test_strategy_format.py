from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.templatetags.strategy_format import num, pct, seconds_as_duration, signed_pct, tone


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("0.1234"), "12.3%"), (None, "—"), ("", "—"), ("x", "—"), (0, "0.0%")],
)
def test_shares_read_as_percentages(value, expected) -> None:
    assert pct(value) == expected


def test_returns_carry_their_sign() -> None:
    assert signed_pct(Decimal("0.05")) == "+5.0%" and signed_pct(Decimal("-0.5"), 2) == "-50.00%"


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
