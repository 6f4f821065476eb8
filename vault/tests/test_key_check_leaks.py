"""The new key checks (Kraken, Bitvavo, One Trading, malformed input) never put a
key, secret or token in a page, a log line or the security event log, whatever
the exchange answers."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from accounts.models import SecurityEvent
from testing.bitvavo_fake import FakeBitvavo
from testing.fake_fixtures import bitvavo_fake, kraken_fake, onetrading_fake  # noqa: F401
from testing.http_fake import Reply
from testing.kraken_fake import FakeKraken
from testing.onetrading_fake import READ, TRADE, WITHDRAW, FakeOneTrading
from vault.tests.linking import post_link

pytestmark = pytest.mark.django_db


def assert_nowhere(values: list[str], response, caplog) -> None:
    page = response.content.decode()
    events = " ".join(str(e.detail) for e in SecurityEvent.objects.all())
    for value in values:
        assert value not in page and value not in caplog.text and value not in events


def post(client: Client, exchange_id: str, api_key: str, secret: str = "", **extra: str):
    return post_link(client, exchange_id, api_key, secret, label="x", **extra)


@pytest.mark.parametrize(
    "arrange",
    [
        lambda fake: fake.add_key(can_withdraw=True),
        lambda fake: fake.add_key(can_trade=False),
        lambda fake: fake.add_key(can_view=False),
        lambda fake: fake.add_key(allowed_from_here=False),
        lambda fake: (
            fake.next_replies.update(
                {("POST", "/v2/withdrawal"): Reply(400, {"errorCode": 101, "error": "Unknown"})}
            )
            or fake.add_key()
        ),
    ],
)
def test_bitvavo_paths(verified_client: Client, bitvavo_fake: FakeBitvavo, caplog, arrange) -> None:
    caplog.set_level(logging.DEBUG)
    key = arrange(bitvavo_fake)
    response = post(verified_client, "bitvavo", key.api_key, key.secret)
    assert_nowhere([key.api_key, key.secret], response, caplog)


@pytest.mark.parametrize(
    ("scopes", "claim"),
    [((READ, TRADE, WITHDRAW), "scp"), ((READ,), "scp"), ((TRADE,), "scp"), ((READ, TRADE), None)],
)
def test_one_trading_paths(
    verified_client: Client, onetrading_fake: FakeOneTrading, caplog, scopes, claim
) -> None:
    caplog.set_level(logging.DEBUG)
    key = onetrading_fake.add_key(scopes, scope_claim=claim)
    response = post(verified_client, "onetrading", key.token)
    # The token's signature part alone is as good as the token: look for it too.
    assert_nowhere([key.token, key.token.split(".")[2]], response, caplog)


@pytest.mark.parametrize("permissions", [["withdraw-funds", "create-modify-orders"], []])
def test_kraken_paths(
    verified_client: Client, kraken_fake: FakeKraken, caplog, permissions
) -> None:
    caplog.set_level(logging.DEBUG)
    key = kraken_fake.add_key(permissions=permissions)
    wrong = kraken_fake.add_key().secret
    for secret in (key.secret, wrong, key.secret[:-4] + "!!!!"):
        response = post(verified_client, "kraken", key.api_key, secret)
        assert_nowhere([key.api_key, key.secret, wrong], response, caplog)
