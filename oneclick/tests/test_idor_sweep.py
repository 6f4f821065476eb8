"""Every URL that takes an object's id, given another user's object, is a 404 that
shows nothing of it, for GET and POST, and changes nothing.

The URLs are read from the URL configuration: a new one taking an id fails here
until its parameter is given another user's object below.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.tests.conftest import authenticator, totp_device, user, verified_client  # noqa: F401
from accounts.tests.factories import UserFactory
from strategies.tests.factories import BacktestFactory, SignalFactory
from trading.models import Bot, Decision, Order
from trading.tests.factories import BotFactory, FillFactory
from vault.models import ExchangeCredential

pytestmark = pytest.mark.django_db

# Parameters that name a public thing, or an emailed token allauth checks itself.
PUBLIC = {"slug", "exchange", "key", "uidb36"}


def _patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern)
        if pattern.startswith("admin/"):
            continue
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, pattern)
        elif isinstance(entry, URLPattern) and "<" in pattern:
            yield pattern


@pytest.fixture
def theirs() -> dict[str, Any]:
    """Another user's objects, one of each kind, with a name to look for."""
    owner = UserFactory()
    bot = BotFactory(owner=owner, name="Their-secret-bot-name")
    fill = FillFactory(order__bot=bot, order__credential=bot.credential)
    decision = Decision.objects.create(
        bot=bot, signal=SignalFactory(strategy=bot.strategy), message="Their-decision-note"
    )
    backtest = BacktestFactory(requested_by=owner)
    return {
        "bot_id": bot.pk,
        "order_id": fill.order.pk,
        "decision_id": decision.pk,
        "credential_id": bot.credential.pk,
        "backtest_id": backtest.pk,
        "_bot": bot,
    }


def test_another_users_id_in_every_url_is_a_404_that_shows_and_changes_nothing(
    verified_client: Client, theirs: dict[str, Any]
) -> None:
    import re

    visited = []
    for pattern in _patterns():
        names = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", pattern)
        names = [a or b for a, b in names]
        if set(names) <= PUBLIC or "(?P<" in pattern:
            continue
        missing = [n for n in names if n not in theirs]
        assert not missing, f"give {missing} of /{pattern} another user's object in this test"
        url = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(theirs[m.group(1)]), pattern)
        for method in ("get", "post"):
            data = {"allocation": "5", "sell_positions": "on"} if method == "post" else {}
            response = getattr(verified_client, method)(url, data)
            body = response.content.decode(errors="replace")
            # A GET of a POST-only URL is a 405 before any lookup: the same for any id.
            allowed = (404, 405) if method == "get" else (404,)
            assert response.status_code in allowed, (
                f"{method.upper()} {url}: {response.status_code}"
            )
            assert "Their-secret-bot-name" not in body and "Their-decision-note" not in body
            visited.append(f"{method} {url}")
    assert len(visited) >= 20, visited
    bot = Bot.objects.get(pk=theirs["bot_id"])
    assert (bot.status, bot.allocation) == ("active", Decimal("1000"))
    assert ExchangeCredential.objects.get(pk=theirs["credential_id"]).status == "active"
    assert Order.objects.count() == 1
