"""Exchanges whose keys link but where bots cannot place orders yet (Bitvavo, One
Trading): every bot on them says so, no signal reaches the exchange, and the forms
tell before a bot is made."""

from __future__ import annotations

import pytest
from django.test import Client

from strategies.tests.factories import SignalFactory, StrategyFactory
from trading.execution import execute
from trading.models import Bot, Order
from trading.tests.factories import BotFactory
from trading.tests.test_health import PAGES, health
from trading.tests.test_views import create
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db

UNAVAILABLE = [("bitvavo", "Bitvavo"), ("onetrading", "One Trading")]


@pytest.mark.parametrize(("exchange_id", "name"), UNAVAILABLE)
def test_a_bot_on_such_a_key_is_blocked_on_every_page(
    verified_client: Client, user, exchange_id, name
) -> None:
    bot = BotFactory(owner=user, credential=CredentialFactory(owner=user, exchange_id=exchange_id))
    label = f"Blocked — order placement on {name} is not available yet"
    assert health(bot).label == label
    for page in PAGES:
        html = verified_client.get(page.format(bot=bot.pk)).content.decode()
        assert label in html, page
        assert ">Running<" not in html, page


@pytest.mark.parametrize(("exchange_id", "name"), UNAVAILABLE)
def test_a_signal_for_such_a_bot_is_not_traded_and_says_why(exchange_id, name) -> None:
    bot = BotFactory(credential=CredentialFactory(exchange_id=exchange_id))
    decision = execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    assert (decision.outcome, decision.reason) == ("ignored", "placement_unavailable")
    assert f"order placement on {name} is not available yet" in decision.message
    assert not Order.objects.exists()


@pytest.mark.parametrize(("exchange_id", "name"), UNAVAILABLE)
def test_the_bot_form_says_so_and_makes_no_bot(
    verified_client: Client, user, exchange_id, name
) -> None:
    credential = CredentialFactory(owner=user, exchange_id=exchange_id)
    strategy = StrategyFactory(markets=["BTC/USDT"])
    form = verified_client.get("/bots/new/").content.decode()
    assert f"order placement on {name} is not available yet" in form
    page = create(verified_client, credential, strategy).content.decode()
    assert f"Order placement on {name} is not available yet" in page
    assert not Bot.objects.exists()


def test_the_key_form_says_which_exchanges_cannot_place_orders_yet(
    verified_client: Client,
) -> None:
    page = verified_client.get("/keys/link/").content.decode()
    assert "Bitvavo (order placement not available yet)" in page
    assert "One Trading (formerly Bitpanda Pro) (order placement not available yet)" in page
    assert "Kraken (order placement" not in page and ">Kraken<" in page


def test_kraken_and_binance_bots_still_run(user) -> None:
    for exchange_id in ("binance", "binanceus", "kraken", "paper"):
        bot = BotFactory(
            owner=user, credential=CredentialFactory(owner=user, exchange_id=exchange_id)
        )
        assert health(bot).label == "Running", exchange_id


@pytest.mark.parametrize("exchange_id", ["bitvavo", "onetrading"])
def test_the_key_page_says_bots_on_it_cannot_trade(
    verified_client: Client, user, exchange_id
) -> None:
    credential = CredentialFactory(owner=user, exchange_id=exchange_id)
    page = verified_client.get(f"/keys/{credential.pk}/").content.decode()
    assert "order placement on it is not available yet" in page


def test_a_kraken_key_page_does_not(verified_client: Client, user) -> None:
    credential = CredentialFactory(owner=user, exchange_id="kraken")
    page = verified_client.get(f"/keys/{credential.pk}/").content.decode()
    assert "not available yet" not in page
