"""Linking and re-checking Binance keys through the pages, the real ccxt client
and the Binance emulator (request signing, error mapping, apiRestrictions)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import SecurityEvent
from testing.binance_emulator import BinanceEmulator
from testing.fixtures import binance_emulator  # noqa: F401
from vault.models import ExchangeCredential
from vault.services import credential_recheck
from vault.tests.linking import post_link


@pytest.fixture
def emulator(binance_emulator: BinanceEmulator, settings) -> BinanceEmulator:
    settings.EXCHANGE_URL_OVERRIDES = {"binance": binance_emulator.url}
    return binance_emulator


def link(client: Client, api_key: str, secret: str):
    return post_link(client, "binance", api_key, secret)


def test_a_trade_only_restricted_key_links(verified_client: Client, user, emulator) -> None:
    key = emulator.add_key()
    response = link(verified_client, key.api_key, key.secret)
    credential = ExchangeCredential.objects.get(owner=user)
    assert response.status_code == 302
    assert credential.permissions["can_trade"] is True
    assert credential.permissions["can_withdraw"] is False
    assert credential.ip_restricted is True
    assert emulator.request_count(path="/sapi/v1/account/apiRestrictions") == 1


def test_a_key_that_can_withdraw_is_refused(verified_client: Client, user, emulator) -> None:
    key = emulator.add_key(can_withdraw=True)
    page = link(verified_client, key.api_key, key.secret).content.decode()
    assert "can withdraw funds" in page and "Enable Withdrawals" in page
    assert not ExchangeCredential.objects.exists()


def test_a_key_that_cannot_trade_is_refused(verified_client: Client, user, emulator) -> None:
    key = emulator.add_key(can_trade=False)
    page = link(verified_client, key.api_key, key.secret).content.decode()
    assert "cannot trade spot" in page and "Enable Spot &amp; Margin Trading" in page
    assert not ExchangeCredential.objects.exists()


def test_a_key_whose_trading_permission_has_expired_is_refused(
    verified_client: Client, user, emulator
) -> None:
    # Failed before: linked as working (302), though every order it sends is refused.
    past = timezone.now() - dt.timedelta(days=3)
    key = emulator.add_key(trading_expires_ms=int(past.timestamp() * 1000))
    response = link(verified_client, key.api_key, key.secret)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"trading permission expired on {past:%Y-%m-%d}" in page
    assert not ExchangeCredential.objects.exists()
    assert SecurityEvent.objects.filter(kind="key_link_refused").exists()


def test_a_key_without_ip_restriction_links_with_a_warning(
    verified_client: Client, user, emulator
) -> None:
    key = emulator.add_key(ip_restricted=False)
    page = link(verified_client, key.api_key, key.secret)
    page = verified_client.get(page.url).content.decode()
    assert "works from any IP address" in page and "/account/ip-whitelist/" in page
    assert ExchangeCredential.objects.get(owner=user).ip_restricted is False


def test_ip_restriction_can_be_made_mandatory(verified_client: Client, emulator, settings) -> None:
    settings.REQUIRE_IP_RESTRICTION = True
    key = emulator.add_key(ip_restricted=False)
    page = link(verified_client, key.api_key, key.secret).content.decode()
    assert "not restricted to our IP addresses" in page
    assert not ExchangeCredential.objects.exists()


def test_a_wrong_secret_is_refused(verified_client: Client, emulator) -> None:
    key = emulator.add_key()
    page = link(verified_client, key.api_key, "0" * 64).content.decode()
    assert "rejected this API key or secret" in page
    assert not ExchangeCredential.objects.exists()


def test_an_unknown_key_is_refused(verified_client: Client, emulator) -> None:
    page = link(verified_client, "a" * 64, "b" * 64).content.decode()
    assert "rejected" in page
    assert not ExchangeCredential.objects.exists()


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("backend_timeout", "We could not reach Binance"),
        ("server_error", "We could not reach Binance"),
        ("disconnect", "We could not reach Binance"),
        ("rate_limit", "limiting our requests"),
    ],
)
def test_exchange_failures_give_a_clear_error_and_store_nothing(
    verified_client: Client, emulator, kind: str, message: str
) -> None:
    key = emulator.add_key()
    emulator.inject(kind, path="/sapi/v1/account/apiRestrictions", retry_after=5)
    page = link(verified_client, key.api_key, key.secret).content.decode()
    assert message in page and "Nothing was saved" in page
    assert not ExchangeCredential.objects.exists()


def test_a_slow_exchange_times_out_cleanly(verified_client: Client, emulator, settings) -> None:
    settings.EXCHANGE_TIMEOUT_MS = 300
    key = emulator.add_key()
    emulator.inject("disconnect", path="/sapi/v1/account/apiRestrictions")
    page = link(verified_client, key.api_key, key.secret).content.decode()
    assert "Nothing was saved" in page


class TestRecheck:
    @pytest.fixture
    def linked(self, verified_client: Client, user, emulator):
        key = emulator.add_key()
        link(verified_client, key.api_key, key.secret)
        return key, ExchangeCredential.objects.get(owner=user)

    def test_a_revoked_key_is_marked_and_the_owner_told(
        self, linked, emulator, django_capture_on_commit_callbacks
    ) -> None:
        key, credential = linked
        emulator.revoke_key(key.api_key)
        with django_capture_on_commit_callbacks(execute=True):
            assert credential_recheck(credential) == "invalid"
        credential.refresh_from_db()
        assert credential.status == "invalid"
        assert any("stopped working" in m.subject for m in mail.outbox)

    def test_a_key_that_gained_withdrawals_is_stopped(
        self, linked, django_capture_on_commit_callbacks
    ) -> None:
        key, credential = linked
        key.can_withdraw = True
        with django_capture_on_commit_callbacks(execute=True):
            assert credential_recheck(credential) == "invalid"
        credential.refresh_from_db()
        assert credential.status == "invalid" and "withdraw" in credential.status_reason
        assert credential.permissions["can_withdraw"] is True

    def test_a_change_of_ip_restriction_is_reported(
        self, linked, django_capture_on_commit_callbacks
    ) -> None:
        key, credential = linked
        key.ip_restricted = False
        with django_capture_on_commit_callbacks(execute=True):
            assert credential_recheck(credential) == "changed"
        assert SecurityEvent.objects.filter(kind="key_permissions_changed").exists()
        assert any("permissions changed" in m.subject for m in mail.outbox)

    def test_a_key_whose_trading_expired_is_stopped_not_warned_of_a_past_date(
        self, linked, django_capture_on_commit_callbacks
    ) -> None:
        # Failed before: "expiring", with an email saying it "expires on" a day gone by.
        key, credential = linked
        past = timezone.now() - dt.timedelta(days=1)
        key.trading_expires_ms = int(past.timestamp() * 1000)
        with django_capture_on_commit_callbacks(execute=True):
            assert credential_recheck(credential) == "invalid"
        credential.refresh_from_db()
        assert credential.status == "invalid" and "expired" in credential.status_reason
        assert not any("expires on" in m.body for m in mail.outbox)
        assert any("stopped working" in m.subject for m in mail.outbox)

    def test_an_expiry_close_ahead_is_warned_once(
        self, linked, django_capture_on_commit_callbacks
    ) -> None:
        key, credential = linked
        soon = timezone.now() + dt.timedelta(days=2)
        key.trading_expires_ms = int(soon.timestamp() * 1000)
        with django_capture_on_commit_callbacks(execute=True):
            assert credential_recheck(credential) == "expiring"
            credential.refresh_from_db()
            credential_recheck(credential)
        warnings = [m for m in mail.outbox if "expires soon" in m.subject]
        assert len(warnings) == 1
        assert "Create a new key" in warnings[0].body
