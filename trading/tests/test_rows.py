"""Rows rendered once per state (trading/rows.py) never show a stale state."""

from __future__ import annotations

import pytest
from django.test import Client

from trading.models import Bot, Order
from trading.tests.factories import BotFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(user) -> Bot:
    return BotFactory(owner=user)


def test_an_order_changed_by_a_compare_and_set_update_shows_its_new_status(
    verified_client: Client, bot
) -> None:
    order = OrderFactory(bot=bot, status=Order.Status.OPEN)
    before = verified_client.get("/bots/history/?kind=orders").content.decode()
    assert '<td data-label="Status">Open</td>' in before
    # As the order code does it: no save(), so updated_at is not bumped.
    Order.objects.filter(pk=order.pk, status=Order.Status.OPEN).update(status=Order.Status.CANCELED)
    page = verified_client.get("/bots/history/?kind=orders").content.decode()
    assert '<td data-label="Status">Cancelled</td>' in page
    assert '<td data-label="Status">Open</td>' not in page


def test_a_renamed_bot_shows_its_new_name_on_its_rows(verified_client: Client, bot) -> None:
    OrderFactory(bot=bot)
    verified_client.get("/bots/history/?kind=orders")
    Bot.objects.filter(pk=bot.pk).update(name="Renamed bot")
    assert "Renamed bot" in verified_client.get("/bots/history/?kind=orders").content.decode()


def test_the_filter_fields_keep_what_was_chosen_whatever_the_page(
    verified_client: Client, bot
) -> None:
    OrderFactory(bot=bot)
    first = verified_client.get("/bots/history/?kind=orders&side=buy").content.decode()
    other = verified_client.get("/bots/history/?kind=orders&side=sell&page=2").content.decode()
    assert '<option value="buy" selected>' in first
    assert '<option value="sell" selected>' in other
