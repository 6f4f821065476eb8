"""Kraken keys through the real ccxt client against a local Kraken (GetApiKeyInfo,
Kraken's signing and its own error strings)."""

from __future__ import annotations

import pytest
from django.test import Client

from testing.fake_fixtures import kraken_fake  # noqa: F401
from testing.http_fake import Reply
from testing.kraken_fake import TRADE_ONLY, FakeKraken, KrakenKey
from vault.models import ExchangeCredential
from vault.tests.linking import post_link

pytestmark = pytest.mark.django_db


def link(client: Client, key: KrakenKey, **overrides: str):
    fields = {"api_key": key.api_key, "secret": key.secret, **overrides}
    return post_link(client, "kraken", label="Kraken", **fields)


def test_a_kraken_trading_key_links_after_get_api_key_info(
    verified_client: Client, user, kraken_fake: FakeKraken
) -> None:
    key = kraken_fake.add_key()
    assert link(verified_client, key).status_code == 302
    credential = ExchangeCredential.objects.get(owner=user)
    assert credential.permissions["can_trade"] is True and credential.ip_restricted is True
    assert credential.permissions["how"] == "endpoint"
    assert kraken_fake.paths() == ["/0/private/GetApiKeyInfo"]


def test_a_kraken_key_with_withdraw_funds_is_refused(
    verified_client: Client, kraken_fake: FakeKraken
) -> None:
    key = kraken_fake.add_key(permissions=[*TRADE_ONLY, "withdraw-funds"])
    page = link(verified_client, key).content.decode()
    assert "can withdraw funds" in page and "Withdraw funds" in page
    assert not ExchangeCredential.objects.exists()


def test_a_kraken_key_that_only_reads_is_refused(
    verified_client: Client, kraken_fake: FakeKraken
) -> None:
    key = kraken_fake.add_key(permissions=["query-funds", "query-open-trades"])
    page = link(verified_client, key).content.decode()
    assert "cannot trade spot" in page and "Create &amp; modify orders" in page
    assert not ExchangeCredential.objects.exists()


def test_a_kraken_key_kraken_does_not_know_is_refused(
    verified_client: Client, kraken_fake: FakeKraken
) -> None:
    # Well-formed, but never issued by this Kraken.
    key = KrakenKey(api_key="A" * 56, secret=kraken_fake.add_key().secret)
    assert "rejected this API key or secret" in link(verified_client, key).content.decode()
    assert not ExchangeCredential.objects.exists()


def test_a_wrong_kraken_private_key_is_refused_by_its_signature_check(
    verified_client: Client, kraken_fake: FakeKraken
) -> None:
    key = kraken_fake.add_key()
    other = kraken_fake.add_key()
    page = link(verified_client, key, secret=other.secret).content.decode()
    assert "rejected this API key or secret" in page
    assert not ExchangeCredential.objects.exists()


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("EAPI:Rate limit exceeded", "limiting our requests"),
        ("EService:Unavailable", "We could not reach Kraken"),
        ("EGeneral:Permission denied", "rejected this API key or secret"),
        ("EGeneral:Internal error", "We could not reach Kraken"),
    ],
)
def test_krakens_own_errors_read_as_what_they_mean(
    verified_client: Client, kraken_fake: FakeKraken, error: str, message: str
) -> None:
    kraken_fake.next_replies[("POST", "/0/private/GetApiKeyInfo")] = Reply(200, {"error": [error]})
    page = link(verified_client, kraken_fake.add_key()).content.decode()
    assert message in page
    assert not ExchangeCredential.objects.exists()
