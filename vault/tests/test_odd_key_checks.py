"""Odd answers to a Binance key check (``apiRestrictions``), parsed by the real ccxt
client from the emulator: a key is never taken as trade-only on a reply that does not
say so, and no reply makes the page fail."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from testing.binance_emulator import BinanceEmulator
from testing.fixtures import binance_emulator  # noqa: F401
from vault.models import ExchangeCredential
from vault.services import credential_recheck
from vault.tests.linking import post_link

RESTRICTIONS = "/sapi/v1/account/apiRestrictions"


@pytest.fixture
def emulator(binance_emulator: BinanceEmulator, settings) -> BinanceEmulator:
    settings.EXCHANGE_URL_OVERRIDES = {"binance": binance_emulator.url}
    return binance_emulator


def _without(name: str):
    return lambda body: {k: v for k, v in body.items() if k != name}


def _with(**fields: Any):
    return lambda body: {**body, **fields}


UNSAID_WITHDRAWALS = {
    "no enableWithdrawals": _without("enableWithdrawals"),
    "enableWithdrawals null": _with(enableWithdrawals=None),
    "enableWithdrawals a string": _with(enableWithdrawals="false"),
    "enableWithdrawals a number": _with(enableWithdrawals=0),
    "an empty object": lambda body: {},
    "a list": lambda body: [body],
    "a string": lambda body: "ok",
}


@pytest.mark.parametrize("rewrite", UNSAID_WITHDRAWALS.values(), ids=UNSAID_WITHDRAWALS.keys())
def test_a_reply_that_does_not_say_the_key_cannot_withdraw_links_nothing(
    verified_client: Client, user, emulator: BinanceEmulator, rewrite
) -> None:
    key = emulator.add_key()
    emulator.tamper(RESTRICTIONS, rewrite)
    response = post_link(verified_client, "binance", key.api_key, key.secret)
    assert response.status_code == 200
    page = response.content.decode()
    assert "a reply we could not read" in page and "Nothing was saved" in page
    assert not ExchangeCredential.objects.exists()


ODD_REPLIES = {
    "an expiry beyond any calendar": _with(tradingAuthorityExpirationTime=10**22),
    "an expiry that is a word": _with(tradingAuthorityExpirationTime="soon"),
}


@pytest.mark.parametrize("rewrite", ODD_REPLIES.values(), ids=ODD_REPLIES.keys())
def test_an_odd_key_check_reply_is_a_clear_answer_not_a_server_error(
    verified_client: Client, user, emulator: BinanceEmulator, rewrite
) -> None:
    key = emulator.add_key()
    emulator.tamper(RESTRICTIONS, rewrite)
    response = post_link(verified_client, "binance", key.api_key, key.secret)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        page = response.content.decode()
        assert "not in the format" not in page  # the key was fine: the reply was odd
        assert not ExchangeCredential.objects.exists()
    else:
        assert ExchangeCredential.objects.get(owner=user).permissions["can_withdraw"] is False


def test_a_recheck_whose_reply_does_not_say_trade_only_is_not_taken_as_ok(
    verified_client: Client, user, emulator: BinanceEmulator
) -> None:
    key = emulator.add_key()
    post_link(verified_client, "binance", key.api_key, key.secret)
    credential = ExchangeCredential.objects.get(owner=user)
    checked_at = credential.permissions
    emulator.tamper(RESTRICTIONS, _without("enableWithdrawals"))
    # Like an outage: asked again at the next run, the last real answer kept.
    assert credential_recheck(credential) == "unreachable"
    credential.refresh_from_db()
    assert credential.permissions == checked_at


@pytest.mark.parametrize(
    "reply",
    [{}, {"result": {}}, {"result": None}, [], {"result": {"permissions": "withdraw-funds"}}],
)
def test_a_kraken_key_description_without_its_permissions_is_unreadable(reply: Any) -> None:
    from vault.permissions import UnreadableCheck, kraken_check

    with pytest.raises(UnreadableCheck):
        kraken_check(reply)
    listed = kraken_check({"result": {"permissions": ["query-funds", "create-modify-orders"]}})
    assert (listed.can_trade, listed.can_withdraw) == (True, False)


@pytest.mark.parametrize(
    "valid_until", [10**22, "10" * 30, -5, "soon", None, 1.5e300, True, [5], 253402300799]
)
def test_an_odd_kraken_expiry_is_no_expiry(valid_until: Any) -> None:
    from vault.permissions import kraken_check

    check = kraken_check({"result": {"permissions": ["modify-trades"], "validUntil": valid_until}})
    assert check.expires_at is None


# The last millisecond any calendar holds (9999-12-31 23:59:59.999 UTC), as Binance
# writes expiries; east of UTC that instant falls in the year 10000.
LAST_MILLISECOND = 253402300799999

EXPIRY_REPLIES = {
    "a word": "soon",
    "empty": "",
    "far future": LAST_MILLISECOND,
    "past": 1_000,
    "a list": [1_000],
    "an object": {"ms": 1_000},
    "a boolean": True,
    "a float": 1.5e300,
}


@pytest.mark.parametrize("expiry", EXPIRY_REPLIES.values(), ids=EXPIRY_REPLIES.keys())
def test_any_expiry_in_a_key_check_gives_a_readable_key_page_in_any_time_zone(
    verified_client: Client, user, emulator: BinanceEmulator, expiry: Any
) -> None:
    user.time_zone = "Pacific/Kiritimati"  # UTC+14, the zone furthest ahead
    user.save(update_fields=["time_zone"])
    key = emulator.add_key()
    emulator.tamper(RESTRICTIONS, _with(tradingAuthorityExpirationTime=expiry))
    response = post_link(verified_client, "binance", key.api_key, key.secret)
    assert response.status_code == 302, response.content.decode()[:2000]
    credential = ExchangeCredential.objects.get(owner=user)
    page = verified_client.get(f"/keys/{credential.pk}/")
    assert page.status_code == 200
    assert "Expires" in page.content.decode()
    assert verified_client.get("/keys/").status_code == 200


def test_an_expiry_on_the_calendars_last_day_is_no_expiry_and_the_admin_shows_the_key(
    verified_client: Client, user, emulator: BinanceEmulator
) -> None:
    # Failed before: stored as 9999-12-31, the admin's key page was a 500 for staff
    # east of UTC (Django's admin turns it into the year 10000 there).
    from accounts.tests.conftest import staff_login

    key = emulator.add_key()
    emulator.tamper(RESTRICTIONS, _with(tradingAuthorityExpirationTime=LAST_MILLISECOND))
    assert post_link(verified_client, "binance", key.api_key, key.secret).status_code == 302
    credential = ExchangeCredential.objects.get(owner=user)
    assert credential.expires_at is None
    staff_client = Client()
    staff = staff_login(staff_client)
    staff.time_zone = "Pacific/Kiritimati"
    staff.save(update_fields=["time_zone"])
    page = staff_client.get(f"/admin/vault/exchangecredential/{credential.pk}/change/")
    assert page.status_code == 200
