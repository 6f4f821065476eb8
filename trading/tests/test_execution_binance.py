"""Execution through the real ccxt Binance client against the emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from testing.fixtures import binance_emulator  # noqa: F401
from trading.exchange_calls import ip_key
from trading.execution import client_order_id, execute
from trading.limits import blocked_for
from trading.models import Bot, Order
from trading.tests.factories import BotFactory
from vault.tests.factories import CredentialFactory


@pytest.fixture
def emulator(binance_emulator: BinanceEmulator, settings) -> BinanceEmulator:
    settings.EXCHANGE_URL_OVERRIDES = {"binance": binance_emulator.url}
    settings.SWEEPER_MIN_AGE_SECONDS = 0
    return binance_emulator


@pytest.fixture
def bot(emulator: BinanceEmulator) -> Bot:
    key = emulator.add_key()
    credential = CredentialFactory(exchange_id="binance", api_key=key.api_key, secret=key.secret)
    return BotFactory(owner=credential.owner, credential=credential, allocation=Decimal("1000"))


def test_a_signal_becomes_one_binance_order_with_our_client_order_id(bot, emulator) -> None:
    signal = SignalFactory(strategy=bot.strategy)
    decision = execute(bot.pk, signal.pk)
    assert decision.outcome == "executed", decision.message
    order = Order.objects.get()
    assert order.client_order_id == client_order_id(bot.pk, signal.pk)
    assert order.exchange_order_id and order.fills.exists()
    assert emulator.request_count(path="/api/v3/order", method="POST") == 1
    emulator.assert_within_limits()


def test_a_revoked_key_disables_the_credential_and_stops_the_bot(bot, emulator) -> None:
    emulator.revoke_key(bot.credential.api_key)
    decision = execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    assert (decision.outcome, decision.reason) == ("failed", "key_refused")
    bot.refresh_from_db()
    bot.credential.refresh_from_db()
    assert bot.credential.status == "invalid"
    assert bot.status == "error"


def test_an_ip_ban_stops_every_bot_on_that_exchange(bot, emulator) -> None:
    emulator.inject("ip_ban", path="/api/v3/order", retry_after=120)
    decision = execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    assert decision.outcome == "pending"
    assert blocked_for(ip_key("binance")) > 60
    assert Order.objects.get().status == "pending"
    other = BotFactory(owner=bot.owner, credential=bot.credential)
    before = len(emulator.requests)
    assert execute(other.pk, SignalFactory(strategy=other.strategy).pk).outcome == "pending"
    assert len(emulator.requests) == before  # nothing sent while banned


def test_the_owner_is_told_when_a_key_error_stops_their_bots(
    bot, emulator, django_capture_on_commit_callbacks
) -> None:
    from django.core import mail

    emulator.revoke_key(bot.credential.api_key)
    with django_capture_on_commit_callbacks(execute=True):
        execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    subjects = [m.subject for m in mail.outbox]
    assert "[OneClick] Bots stopped by an error" in subjects
    assert any("stopped working" in s for s in subjects)  # the key alert
