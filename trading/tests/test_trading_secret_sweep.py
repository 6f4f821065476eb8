"""A key's secret and API key never reach a log, an order or decision, a live push or a
queued task while trading through ccxt goes wrong in every way the emulator can."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail

from strategies.tests.factories import SignalFactory
from testing.binance_emulator import BinanceEmulator
from trading import events
from trading.exchange_calls import ip_key
from trading.execution import execute
from trading.limits import unblock
from trading.models import Decision, Order
from trading.sweeper import sweep
from trading.tasks import refresh_account
from trading.tests.factories import BotFactory
from trading.tests.test_odd_replies import ORDER, _set
from vault.tests.factories import CredentialFactory


@pytest.fixture(autouse=True)
def escalate_soon(settings) -> None:
    settings.ORDER_LOOKUP_MAX_FAILURES = 2


def test_no_secret_in_logs_records_pushes_or_tasks_when_trading_goes_wrong(
    emulator: BinanceEmulator, caplog, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    caplog.set_level(logging.DEBUG)
    pushed: list[str] = []
    monkeypatch.setattr(
        events, "push_to_user", lambda user_id, event, payload: pushed.append(repr(payload))
    )
    key = emulator.add_key()
    credential = CredentialFactory(exchange_id="binance", api_key=key.api_key, secret=key.secret)
    bot = BotFactory(owner=credential.owner, credential=credential, allocation=Decimal("5000"))
    faults: list[tuple[str, dict[str, Any]]] = [
        ("server_error", {}),
        ("backend_timeout", {}),
        ("disconnect", {"execute": True}),
        ("rate_limit", {"retry_after": 1}),
        ("bad_timestamp", {}),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for fraction, (kind, extra) in zip(range(1, 9), faults, strict=False):
            emulator.inject(kind, path=ORDER, method="POST", **extra)
            signal = SignalFactory(strategy=bot.strategy, fraction=Decimal(fraction) / 100)
            execute(bot.pk, signal.pk)
            unblock(ip_key("binance"))  # the 429's wait, not waited out here
            sweep()
        emulator.tamper(ORDER, _set(executedQty="NaN"), times=10)
        execute(bot.pk, SignalFactory(strategy=bot.strategy, fraction=Decimal("0.09")).pk)
        for _ in range(3):
            sweep()
        emulator.inject("server_error", path="/api/v3/account", times=3)
        refresh_account(str(credential.pk))
        emulator.revoke_key(key.api_key)
        execute(bot.pk, SignalFactory(strategy=bot.strategy, fraction=Decimal("0.1")).pk)
    texts = {
        "logs": "\n".join(
            f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
        ),
        "orders": "\n".join(f"{o.error}" for o in Order.objects.all()),
        "decisions": "\n".join(f"{d.message} {d.reason}" for d in Decision.objects.all()),
        "pushes": "\n".join(pushed),
        "emails": "\n".join(f"{m.subject} {m.body}" for m in mail.outbox),
    }
    assert Order.objects.count() >= 5 and caplog.records
    for where, text in texts.items():
        assert key.secret not in text, f"secret in {where}"
        assert key.api_key not in text, f"API key in {where}"
