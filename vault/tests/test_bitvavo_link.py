"""Bitvavo keys through the real ccxt client against a local Bitvavo: the key's
rights are read from probes that can never act (a cancel of an order that does
not exist, a withdrawal of 0 to a non-address) and Bitvavo's own error codes."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from testing.bitvavo_fake import BitvavoKey, FakeBitvavo
from testing.fake_fixtures import bitvavo_fake  # noqa: F401
from testing.http_fake import Reply
from vault.models import ExchangeCredential
from vault.services import credential_recheck
from vault.tests.linking import post_link

pytestmark = pytest.mark.django_db


def link(client: Client, key: BitvavoKey, **overrides: str):
    fields = {"api_key": key.api_key, "secret": key.secret, **overrides}
    return post_link(client, "bitvavo", label="Bitvavo", **fields)


def test_a_view_and_trade_key_links_after_three_harmless_requests(
    verified_client: Client, user, bitvavo_fake: FakeBitvavo
) -> None:
    key = bitvavo_fake.add_key()
    response = link(verified_client, key)
    assert response.status_code == 302
    credential = ExchangeCredential.objects.get(owner=user)
    assert credential.permissions["can_trade"] is True
    assert credential.permissions["can_withdraw"] is False
    assert credential.permissions["how"] == "probe" and credential.permissions_verified
    assert credential.ip_restricted is None  # Bitvavo does not say
    assert [(c.method, c.path) for c in bitvavo_fake.calls] == [
        ("GET", "/v2/balance"),
        ("DELETE", "/v2/order"),
        ("POST", "/v2/withdrawal"),
    ]
    cancel, withdrawal = bitvavo_fake.calls[1], bitvavo_fake.calls[2]
    assert cancel.query["orderId"] == "00000000-0000-0000-0000-000000000000"
    assert json.loads(withdrawal.body)["amount"] == "0"
    page = verified_client.get(response.url).content.decode()
    assert "does not tell us whether the key is restricted" in page


def test_a_key_that_can_withdraw_is_refused(
    verified_client: Client, bitvavo_fake: FakeBitvavo
) -> None:
    key = bitvavo_fake.add_key(can_withdraw=True)
    page = link(verified_client, key).content.decode()
    assert "can withdraw funds" in page and "turn off “Withdraw”" in page
    assert not ExchangeCredential.objects.exists()
    # The probe reached the withdrawal check and was refused for its parameters.
    assert bitvavo_fake.withdrawals_attempted == 1


def test_a_key_without_trade_is_refused(verified_client: Client, bitvavo_fake: FakeBitvavo) -> None:
    key = bitvavo_fake.add_key(can_trade=False)
    page = link(verified_client, key).content.decode()
    assert "cannot trade spot" in page and "turn on “Trade”" in page
    assert not ExchangeCredential.objects.exists()


def test_a_key_without_view_is_refused_naming_view(
    verified_client: Client, bitvavo_fake: FakeBitvavo
) -> None:
    key = bitvavo_fake.add_key(can_view=False)
    page = link(verified_client, key).content.decode()
    assert "cannot read your account" in page and "turn on “View”" in page
    assert not ExchangeCredential.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"secret": "f" * 128},  # 309: the signature is invalid
        {"api_key": "e" * 64},  # 305: no active API key found
    ],
)
def test_a_key_bitvavo_rejects_is_refused(
    verified_client: Client, bitvavo_fake: FakeBitvavo, change
) -> None:
    key = bitvavo_fake.add_key()
    page = link(verified_client, key, **change).content.decode()
    assert "Bitvavo rejected this API key or secret" in page
    assert not ExchangeCredential.objects.exists()


def test_a_key_used_from_an_address_it_does_not_allow_is_refused(
    verified_client: Client, bitvavo_fake: FakeBitvavo
) -> None:
    key = bitvavo_fake.add_key(allowed_from_here=False)  # 307
    page = link(verified_client, key).content.decode()
    assert "our IP addresses are on its whitelist" in page
    assert not ExchangeCredential.objects.exists()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            Reply(429, {"errorCode": 105, "error": "Your IP or API key has been banned."}),
            "limiting",
        ),
        (Reply(503, {"errorCode": 107, "error": "The matching engine is overloaded."}), "reach"),
        (Reply(400, {"errorCode": 101, "error": "Unknown error."}), "answered with an error"),
    ],
)
def test_an_unclear_withdrawal_probe_answer_saves_nothing(
    verified_client: Client, bitvavo_fake: FakeBitvavo, reply: Reply, message: str
) -> None:
    key = bitvavo_fake.add_key()
    bitvavo_fake.next_replies[("POST", "/v2/withdrawal")] = reply
    page = link(verified_client, key).content.decode()
    assert message in page and "Nothing was saved" in page
    assert not ExchangeCredential.objects.exists()


def test_a_recheck_notices_withdrawal_turned_on_later(
    verified_client: Client, user, bitvavo_fake: FakeBitvavo
) -> None:
    key = bitvavo_fake.add_key()
    link(verified_client, key)
    credential = ExchangeCredential.objects.get(owner=user)
    key.can_withdraw = True
    assert credential_recheck(credential) == "invalid"
    credential.refresh_from_db()
    assert credential.status == "invalid" and "can withdraw" in credential.status_reason


def test_no_secret_reaches_the_page_or_the_logs(
    verified_client: Client, bitvavo_fake: FakeBitvavo, caplog
) -> None:
    key = bitvavo_fake.add_key(can_withdraw=True)
    page = link(verified_client, key).content.decode()
    assert key.secret not in page and key.secret not in caplog.text
    assert key.api_key not in page and key.api_key not in caplog.text
