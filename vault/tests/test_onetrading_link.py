"""One Trading keys through the real ccxt client against a local One Trading:
Read from the balance call, Trade from a cancel of an order that does not exist,
Withdraw from the key's own scopes, or, where it lists none, the owner's tick."""

from __future__ import annotations

import pytest
from django.test import Client

from testing.fake_fixtures import onetrading_fake  # noqa: F401
from testing.http_fake import Reply
from testing.onetrading_fake import READ, TRADE, WITHDRAW, FakeOneTrading, OneTradingKey
from vault.models import ExchangeCredential
from vault.services import credential_recheck
from vault.tests.linking import post_link

pytestmark = pytest.mark.django_db


def link(client: Client, key: OneTradingKey, *, confirmed: bool = False):
    # One Trading's key is one token: no secret.
    extra = {"trade_only_confirmed": "on"} if confirmed else {}
    return post_link(client, "onetrading", key.token, label="One Trading", **extra)


def test_a_read_and_trade_key_links_on_its_scopes_and_a_harmless_cancel(
    verified_client: Client, user, onetrading_fake: FakeOneTrading
) -> None:
    key = onetrading_fake.add_key()
    assert link(verified_client, key).status_code == 302
    credential = ExchangeCredential.objects.get(owner=user)
    assert credential.permissions["can_trade"] is True
    assert credential.permissions["can_withdraw"] is False
    assert credential.permissions["how"] == "token" and credential.permissions_verified
    assert [(c.method, c.path) for c in onetrading_fake.calls] == [
        ("GET", "/fast/v1/account/balances"),
        ("DELETE", "/fast/v1/account/orders/00000000-0000-0000-0000-000000000000"),
    ]
    assert onetrading_fake.calls[0].header("Authorization") == f"Bearer {key.token}"


def test_a_key_whose_scopes_include_withdraw_is_refused(
    verified_client: Client, onetrading_fake: FakeOneTrading
) -> None:
    key = onetrading_fake.add_key((READ, TRADE, WITHDRAW))
    page = link(verified_client, key, confirmed=True).content.decode()
    assert "can withdraw funds" in page and "turn off “Withdraw”" in page
    assert not ExchangeCredential.objects.exists()


def test_a_key_without_trade_is_refused(
    verified_client: Client, onetrading_fake: FakeOneTrading
) -> None:
    key = onetrading_fake.add_key((READ,))
    page = link(verified_client, key).content.decode()
    assert "cannot trade spot" in page and "turn on “Trade”" in page
    assert not ExchangeCredential.objects.exists()


def test_a_key_without_read_is_refused_naming_read(
    verified_client: Client, onetrading_fake: FakeOneTrading
) -> None:
    key = onetrading_fake.add_key((TRADE,))
    page = link(verified_client, key).content.decode()
    assert "cannot read your account" in page and "turn on “Read”" in page


class TestAKeyThatDoesNotListItsScopes:
    def test_it_is_refused_until_the_owner_confirms_it_cannot_withdraw(
        self, verified_client: Client, onetrading_fake: FakeOneTrading
    ) -> None:
        key = onetrading_fake.add_key(scope_claim=None)
        page = link(verified_client, key).content.decode()
        assert "no safe way to check whether this key can withdraw" in page
        assert "This key cannot withdraw" in page
        assert not ExchangeCredential.objects.exists()

    def test_it_links_with_the_confirmation_and_says_so(
        self, verified_client: Client, user, onetrading_fake: FakeOneTrading
    ) -> None:
        key = onetrading_fake.add_key(scope_claim=None)
        response = link(verified_client, key, confirmed=True)
        assert response.status_code == 302
        credential = ExchangeCredential.objects.get(owner=user)
        assert credential.permissions["can_withdraw"] is None
        assert credential.permissions["trade_only_confirmed"] is True
        assert not credential.permissions_verified
        page = verified_client.get(response.url).content.decode()
        assert "we rely on your confirmation" in page
        assert "cannot be checked on One Trading" in page and "you confirmed it is off" in page

    def test_a_recheck_keeps_the_confirmation(
        self, verified_client: Client, user, onetrading_fake: FakeOneTrading
    ) -> None:
        link(verified_client, onetrading_fake.add_key(scope_claim=None), confirmed=True)
        credential = ExchangeCredential.objects.get(owner=user)
        assert credential_recheck(credential) == "ok"

    def test_the_confirmation_cannot_hide_a_missing_trade_right(
        self, verified_client: Client, onetrading_fake: FakeOneTrading
    ) -> None:
        key = onetrading_fake.add_key((READ,), scope_claim=None)
        page = link(verified_client, key, confirmed=True).content.decode()
        assert "cannot trade spot" in page
        assert not ExchangeCredential.objects.exists()


def test_an_edited_token_is_refused_by_the_exchange(
    verified_client: Client, onetrading_fake: FakeOneTrading
) -> None:
    """Claims are trusted only from a token the exchange accepted: editing them breaks it."""
    key = onetrading_fake.add_key((READ, TRADE, WITHDRAW))
    header, _claims, signature = key.token.split(".")
    forged = onetrading_fake.add_key().token.split(".")[1]
    page = link(verified_client, OneTradingKey(token=f"{header}.{forged}.{signature}"))
    assert "rejected this API key" in page.content.decode()
    assert not ExchangeCredential.objects.exists()


def test_a_revoked_key_is_found_by_the_recheck(
    verified_client: Client, user, onetrading_fake: FakeOneTrading
) -> None:
    key = onetrading_fake.add_key()
    link(verified_client, key)
    onetrading_fake.revoke(key)
    credential = ExchangeCredential.objects.get(owner=user)
    assert credential_recheck(credential) == "invalid"


def test_a_key_used_from_an_address_it_does_not_allow_is_refused(
    verified_client: Client, onetrading_fake: FakeOneTrading
) -> None:
    key = onetrading_fake.add_key(allowed_from_here=False)
    assert "our IP addresses are on its whitelist" in link(verified_client, key).content.decode()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(429, {"error": "RATELIMIT"}), "limiting our requests"),
        (Reply(503, {"error": "SERVICE_UNAVAILABLE"}), "We could not reach One Trading"),
        (Reply(401, {"error": "APIKEY_EXPIRED"}), "rejected this API key"),
        (Reply(500, {"error": "INTERNAL_SERVER_ERROR"}), "answered with an error"),
    ],
)
def test_one_tradings_own_errors_on_the_trade_probe_save_nothing(
    verified_client: Client, onetrading_fake: FakeOneTrading, reply: Reply, message: str
) -> None:
    key = onetrading_fake.add_key()
    path = "/fast/v1/account/orders/00000000-0000-0000-0000-000000000000"
    onetrading_fake.next_replies[("DELETE", path)] = reply
    page = link(verified_client, key).content.decode()
    assert message in page
    assert not ExchangeCredential.objects.exists()
