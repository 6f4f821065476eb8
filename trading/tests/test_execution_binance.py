"""Execution through the real ccxt Binance client against the emulator."""

from __future__ import annotations

from strategies.tests.factories import SignalFactory
from trading.exchange_calls import ip_key
from trading.execution import client_order_id, execute
from trading.limits import blocked_for
from trading.models import Order
from trading.tests.factories import BotFactory


def test_a_signal_becomes_one_binance_order_with_our_client_order_id(binance_bot, emulator) -> None:
    signal = SignalFactory(strategy=binance_bot.strategy)
    decision = execute(binance_bot.pk, signal.pk)
    assert decision.outcome == "executed", decision.message
    order = Order.objects.get()
    assert order.client_order_id == client_order_id(binance_bot.pk, signal.pk)
    assert order.exchange_order_id and order.fills.exists()
    assert emulator.request_count(path="/api/v3/order", method="POST") == 1
    emulator.assert_within_limits()


def test_a_revoked_key_disables_the_credential_and_stops_the_bot(binance_bot, emulator) -> None:
    emulator.revoke_key(binance_bot.credential.api_key)
    decision = execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    assert (decision.outcome, decision.reason) == ("failed", "key_refused")
    binance_bot.refresh_from_db()
    binance_bot.credential.refresh_from_db()
    assert binance_bot.credential.status == "invalid"
    assert binance_bot.status == "error"


def test_an_ip_ban_stops_every_bot_on_that_exchange(binance_bot, emulator) -> None:
    emulator.inject("ip_ban", path="/api/v3/order", retry_after=120)
    decision = execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    assert decision.outcome == "pending"
    assert blocked_for(ip_key("binance")) > 60
    assert Order.objects.get().status == "pending"
    other = BotFactory(owner=binance_bot.owner, credential=binance_bot.credential)
    before = len(emulator.requests)
    assert execute(other.pk, SignalFactory(strategy=other.strategy).pk).outcome == "pending"
    assert len(emulator.requests) == before  # nothing sent while banned


def test_the_owner_is_told_when_a_key_error_stops_their_bots(
    binance_bot, emulator, django_capture_on_commit_callbacks
) -> None:
    from django.core import mail

    emulator.revoke_key(binance_bot.credential.api_key)
    with django_capture_on_commit_callbacks(execute=True):
        execute(binance_bot.pk, SignalFactory(strategy=binance_bot.strategy).pk)
    subjects = [m.subject for m in mail.outbox]
    assert "[OneClick] Bots stopped by an error" in subjects
    assert any("stopped working" in s for s in subjects)  # the key alert
