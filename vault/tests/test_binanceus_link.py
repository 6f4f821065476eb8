"""Binance US keys are read for permissions like Binance's (same apiRestrictions),
through ccxt.binanceus pointed at the Binance emulator."""

from __future__ import annotations

from django.test import Client

from testing.binance_emulator import BinanceEmulator
from testing.fixtures import binance_emulator  # noqa: F401
from vault.models import ExchangeCredential
from vault.tests.linking import post_link


def link(client: Client, api_key: str, secret: str):
    return post_link(client, "binanceus", api_key, secret, label="US")


def test_a_binance_us_trade_only_key_links(
    verified_client: Client, user, binance_emulator: BinanceEmulator, settings
) -> None:
    settings.EXCHANGE_URL_OVERRIDES = {"binanceus": binance_emulator.url}
    key = binance_emulator.add_key()
    assert link(verified_client, key.api_key, key.secret).status_code == 302
    credential = ExchangeCredential.objects.get(owner=user)
    assert credential.exchange_id == "binanceus" and credential.permissions["how"] == "endpoint"
    assert binance_emulator.request_count(path="/sapi/v1/account/apiRestrictions") == 1


def test_a_binance_us_key_that_can_withdraw_is_refused(
    verified_client: Client, binance_emulator: BinanceEmulator, settings
) -> None:
    settings.EXCHANGE_URL_OVERRIDES = {"binanceus": binance_emulator.url}
    key = binance_emulator.add_key(can_withdraw=True)
    page = link(verified_client, key.api_key, key.secret).content.decode()
    assert "This Binance US key can withdraw funds" in page and "Enable Withdrawals" in page
    assert not ExchangeCredential.objects.exists()


def test_a_binance_us_key_that_cannot_trade_is_refused(
    verified_client: Client, binance_emulator: BinanceEmulator, settings
) -> None:
    settings.EXCHANGE_URL_OVERRIDES = {"binanceus": binance_emulator.url}
    key = binance_emulator.add_key(can_trade=False)
    page = link(verified_client, key.api_key, key.secret).content.decode()
    assert "cannot trade spot" in page
    assert not ExchangeCredential.objects.exists()
