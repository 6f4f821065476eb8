"""What an owner types as an allocation: one clear message per mistake, and the
amount kept and logged in plain notation ("1000", never "1E+3")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from accounts.models import SecurityEvent
from trading.forms import AllocationForm
from trading.models import Bot
from trading.tests.factories import BotFactory


@pytest.fixture
def bot(user) -> Bot:
    return BotFactory(owner=user)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1e-400", "Enter an allocation of at least 1."),
        ("0.0000000000000000000001", "Enter an allocation of at least 1."),
        ("1e400", "That allocation is too large."),
        ("-1e400", "Enter an allocation of at least 1."),
    ],
)
def test_an_allocation_out_of_range_gets_one_message(typed: str, message: str) -> None:
    # Failed before: "1e-400" got both "at least 1" and "too large".
    form = AllocationForm({"allocation": typed})
    assert not form.is_valid()
    assert form.errors["allocation"] == [message]


@pytest.mark.parametrize(
    ("typed", "plain"), [("1E3", "1000"), ("1e+3", "1000"), ("2.5E2", "250"), ("0.15E4", "1500")]
)
def test_an_allocation_in_exponent_notation_is_read_as_a_plain_number(
    typed: str, plain: str
) -> None:
    form = AllocationForm({"allocation": typed})
    assert form.is_valid(), form.errors
    value = form.cleaned_data["allocation"]
    assert str(value) == plain and value == Decimal(plain)


def test_an_allocation_typed_as_1e3_is_logged_as_1000(verified_client: Client, bot) -> None:
    # Failed before: the security log said "1E+3".
    response = verified_client.post(f"/bots/{bot.pk}/allocation/", {"allocation": "8E2"})
    assert response.status_code == 302
    bot.refresh_from_db()
    assert bot.allocation == Decimal("800")
    event = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.BOT_ALLOCATION_CHANGED).get()
    assert "E" not in str(event.detail) and "800" in str(event.detail)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("800.00" in m for m in said), said


def test_a_tiny_allocation_on_the_page_gets_one_message(verified_client: Client, bot) -> None:
    response = verified_client.post(f"/bots/{bot.pk}/allocation/", {"allocation": "1e-400"})
    said = [str(m) for m in get_messages(response.wsgi_request) if "allocation" in str(m)]
    assert len(said) == 1 and "too large" not in said[0] and "at least 1" in said[0], said
