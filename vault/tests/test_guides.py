"""The key form offers the supported exchanges with their guides, and each guide
says which permissions to tick, never to tick, our IPs and how the key is checked."""

from __future__ import annotations

import pytest
from django.test import Client

from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("slug", "must_say"),
    [
        ("binance", ["Binance / Binance US", "Enable Spot &amp; Margin Trading",
                     "Enable Withdrawals", "Enable Symbol Whitelist", "apiRestrictions"]),
        ("kraken", ["Kraken", "Create &amp; modify orders", "Withdraw funds", "GetApiKeyInfo"]),
        ("bitvavo", ["Bitvavo", "Trade", "Withdraw", "0 BTC", "cannot check it for you"]),
        ("onetrading", ["One Trading", "Read", "Withdraw cannot be tested safely",
                        "This key cannot withdraw"]),
    ],
)  # fmt: skip
def test_each_exchange_has_a_guide(
    client: Client, settings, slug: str, must_say: list[str]
) -> None:
    settings.EGRESS_IPS = ["198.51.100.41", "198.51.100.42"]
    page = client.get(f"/keys/guide/{slug}/").content.decode()
    for words in [*must_say, "Never tick", "198.51.100.41", "198.51.100.42", "/keys/link/"]:
        assert words in page, words


def test_an_unknown_guide_is_not_found(client: Client) -> None:
    assert client.get("/keys/guide/polymarket/").status_code == 404


def test_the_key_form_links_every_guide_and_loads_its_progress_script(
    verified_client: Client, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(12):
        page = verified_client.get("/keys/link/").content.decode()
    for slug in ("binance", "kraken", "bitvavo", "onetrading"):
        assert f'href="/keys/guide/{slug}/"' in page
    assert 'id="key-check-status"' in page and "js/key_form.js" in page
    assert 'id="exchange-hints"' in page and '"secret": false' in page  # One Trading


def test_the_key_list_names_exchanges_and_points_to_the_guides(
    verified_client: Client, user
) -> None:
    page = verified_client.get("/keys/").content.decode()
    assert 'href="/keys/guide/bitvavo/"' in page
    CredentialFactory(owner=user, exchange_id="onetrading")
    page = verified_client.get("/keys/").content.decode()
    assert "One Trading (formerly Bitpanda Pro)" in page
