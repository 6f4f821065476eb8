"""A key, secret or token in the wrong shape is a clear form error, never a 500:
checked up front against each exchange's format, and, should one slip through,
the signer's own error (e.g. ccxt's base64 decode of a Kraken secret) is caught."""

from __future__ import annotations

import base64
import logging

import pytest
from django.test import Client

from accounts.models import SecurityEvent
from testing.fake_fixtures import kraken_fake  # noqa: F401
from testing.kraken_fake import FakeKraken
from testing.onetrading_fake import make_token
from vault.models import ExchangeCredential
from vault.permissions import KeyRefused
from vault.services import credential_link

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_real_exchange(settings) -> None:
    """Whatever slips past the form meets a closed loopback port, never the internet."""
    closed = "http://127.0.0.1:1"
    settings.EXCHANGE_URL_OVERRIDES = {
        x: closed for x in ("binance", "binanceus", "kraken", "bitvavo", "onetrading")
    }


HEX64 = "a1" * 32
KRAKEN_KEY = "K" * 56
KRAKEN_SECRET = base64.b64encode(b"s" * 64).decode()
NOT_BASE64 = "SENTINEL-not-base64-secret-!!!-0123456789abcdef"


def post(client: Client, exchange_id: str, api_key: str, secret: str = ""):
    return client.post(
        "/keys/link/",
        {"exchange_id": exchange_id, "label": "x", "api_key": api_key, "secret": secret},
    )


@pytest.mark.parametrize(
    ("exchange_id", "api_key", "secret", "field_error"),
    [
        ("kraken", KRAKEN_KEY, NOT_BASE64, "This is not a Kraken private key"),
        ("kraken", KRAKEN_KEY, "c2hvcnQ=", "This is not a Kraken private key"),
        ("kraken", "KRAKEN-key-with-dashes", KRAKEN_SECRET, "This is not a Kraken API key"),
        ("binance", "short", HEX64, "This is not a Binance API key"),
        ("binance", HEX64, "-----BEGIN-PRIVATE-KEY-----", "This is not a Binance secret"),
        ("binanceus", HEX64, "é" * 64, "This is not a Binance US secret"),
        ("bitvavo", "a" * 63, "b" * 128, "This is not a Bitvavo API key"),
        ("bitvavo", "a" * 64, "b" * 12, "This is not a Bitvavo secret"),
        ("onetrading", "not-a-token", "", "This is not a One Trading"),
        ("onetrading", "eyJ.eyJ.sig", "", "This is not a One Trading"),
        ("onetrading", make_token(["READ", "TRADE"]), "some-secret", "have no such part"),
    ],
)
def test_a_malformed_key_is_a_form_error_and_nothing_is_sent(
    verified_client: Client, user, caplog, exchange_id, api_key, secret, field_error
) -> None:
    caplog.set_level(logging.DEBUG)
    response = post(verified_client, exchange_id, api_key, secret)
    page = response.content.decode()
    assert response.status_code == 200 and field_error in page
    assert not ExchangeCredential.objects.exists()
    for value in (api_key, secret):
        if len(value) > 8:
            assert value not in page and value not in caplog.text


def test_a_kraken_secret_that_is_not_base64_never_reaches_kraken(
    verified_client: Client, kraken_fake: FakeKraken
) -> None:
    key = kraken_fake.add_key()
    response = post(verified_client, "kraken", key.api_key, NOT_BASE64)
    assert response.status_code == 200 and "This is not a Kraken private key" in (
        response.content.decode()
    )
    assert kraken_fake.calls == []


def test_a_signer_error_is_a_refusal_not_a_crash(
    user, totp_device, kraken_fake: FakeKraken, caplog
) -> None:
    """Past the form (e.g. a caller that skips it): ccxt's binascii.Error is caught."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(KeyRefused, match="not in the format Kraken issues"):
        credential_link(
            meta=None,
            user=user,
            exchange_id="kraken",
            label="x",
            api_key=KRAKEN_KEY,
            secret=NOT_BASE64,
        )
    assert not ExchangeCredential.objects.exists()
    assert SecurityEvent.objects.filter(user=user, kind="key_link_refused").exists()
    assert NOT_BASE64 not in caplog.text and "Traceback" not in caplog.text
    assert kraken_fake.calls == []


ODD_VALUES = ["\x00", "a\x00b", "x" * 100_000, "é" * 64, "🔑" * 40, "[" * 5000, "-1", ""]


@pytest.mark.parametrize("exchange_id", ["binance", "binanceus", "kraken", "bitvavo", "onetrading"])
@pytest.mark.parametrize("field", ["api_key", "secret", "label", "trade_only_confirmed"])
def test_odd_values_in_any_field_never_crash_the_form(
    verified_client: Client, user, exchange_id: str, field: str
) -> None:
    for value in ODD_VALUES:
        data = {"exchange_id": exchange_id, "label": "x", "api_key": "k" * 64, "secret": "s" * 64}
        response = verified_client.post("/keys/link/", {**data, field: value})
        # A NUL is refused with 400 before any view (oneclick.middleware); the rest
        # reach the form and come back as form errors.
        expected = 400 if "\x00" in value else 200
        assert response.status_code == expected, (field, value[:20])
    assert not ExchangeCredential.objects.exists()


def test_a_body_that_is_not_utf8_is_a_clear_error(verified_client: Client) -> None:
    response = verified_client.post(
        "/keys/link/",
        b"exchange_id=kraken&label=x&api_key=\xff\xfe&secret=\xc3\x28",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not ExchangeCredential.objects.exists()
