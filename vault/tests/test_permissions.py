from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from vault.permissions import (
    KeyRefused,
    binance_check,
    bitvavo_check,
    enforce_policy,
    kraken_check,
    onetrading_check,
    paper_check,
    token_scopes,
    unverified_check,
)

BINANCE_TRADE_ONLY = {
    "ipRestrict": True,
    "createTime": 1623840271000,
    "enableReading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "enableMargin": False,
    "enableFutures": False,
    "permitsUniversalTransfer": False,
    "enableVanillaOptions": False,
    "enableSpotAndMarginTrading": True,
    "enablePortfolioMarginTrading": False,
    "tradingAuthorityExpirationTime": 1893456000000,
}


def kraken(permissions: list[str], *, ips: list[str] | None = None, valid_until: str = "0") -> dict:
    return {
        "error": [],
        "result": {
            "apiKeyName": "oneclick",
            "permissions": permissions,
            "validUntil": valid_until,
            "ipAllowlist": ips or [],
        },
    }


def test_a_binance_trade_only_restricted_key_passes() -> None:
    check = binance_check(BINANCE_TRADE_ONLY)
    assert (check.can_trade, check.can_withdraw, check.ip_restricted) == (True, False, True)
    assert check.expires_at == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert enforce_policy(check, exchange_id="binance", require_ip_restriction=False) == []


def test_a_binance_key_that_can_withdraw_is_refused_naming_the_permission() -> None:
    check = binance_check({**BINANCE_TRADE_ONLY, "enableWithdrawals": True})
    with pytest.raises(KeyRefused, match="Enable Withdrawals"):
        enforce_policy(check, exchange_id="binance", require_ip_restriction=False)


def test_a_binance_key_that_cannot_trade_is_refused_naming_the_permission() -> None:
    check = binance_check({**BINANCE_TRADE_ONLY, "enableSpotAndMarginTrading": False})
    with pytest.raises(KeyRefused, match="Enable Spot & Margin Trading"):
        enforce_policy(check, exchange_id="binance", require_ip_restriction=False)


def test_an_unrestricted_key_is_accepted_with_a_warning() -> None:
    check = binance_check({**BINANCE_TRADE_ONLY, "ipRestrict": False})
    assert enforce_policy(check, exchange_id="binance", require_ip_restriction=False) == [
        "ip_unrestricted"
    ]


def test_an_unrestricted_key_is_refused_when_restriction_is_mandatory() -> None:
    check = binance_check({**BINANCE_TRADE_ONLY, "ipRestrict": False})
    with pytest.raises(KeyRefused, match="IP whitelist page"):
        enforce_policy(check, exchange_id="binance", require_ip_restriction=True)


def test_kraken_permissions_are_read() -> None:
    check = kraken_check(kraken(["query-funds", "create-modify-orders"], ips=["203.0.113.10"]))
    assert (check.can_trade, check.can_withdraw, check.ip_restricted) == (True, False, True)
    assert check.expires_at is None


def test_a_kraken_key_with_withdraw_funds_is_refused() -> None:
    check = kraken_check(kraken(["query-funds", "modify-trades", "withdraw-funds"]))
    with pytest.raises(KeyRefused, match="withdraw"):
        enforce_policy(check, exchange_id="kraken", require_ip_restriction=False)


def test_a_kraken_query_only_key_is_refused() -> None:
    check = kraken_check(kraken(["query-funds", "query-open-trades"]))
    with pytest.raises(KeyRefused, match="Create & modify orders"):
        enforce_policy(check, exchange_id="kraken", require_ip_restriction=False)


@pytest.mark.parametrize("placeholder", [0, 1, 1_000, 946_684_799_999])
def test_an_expiry_before_2000_is_no_expiry_not_1970(placeholder: int) -> None:
    # Failed before for all but 0: kept as a date in 1970, shown as "expires on 1970-01-01".
    check = binance_check({**BINANCE_TRADE_ONLY, "tradingAuthorityExpirationTime": placeholder})
    assert check.expires_at is None
    kraken_reply = kraken(["modify-trades"], valid_until=str(placeholder // 1000))
    assert kraken_check(kraken_reply).expires_at is None


def test_a_key_whose_trading_expired_is_refused_and_one_expiring_later_is_not() -> None:
    # Failed before: both accepted; the expired one cannot place an order.
    now = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    expired = binance_check({**BINANCE_TRADE_ONLY, "tradingAuthorityExpirationTime": 1764154800000})
    with pytest.raises(KeyRefused, match="trading permission expired on 2025-11-26"):
        enforce_policy(expired, exchange_id="binance", require_ip_restriction=False, now=now)
    later = binance_check(BINANCE_TRADE_ONLY)  # 2030-01-01
    assert enforce_policy(later, exchange_id="binance", require_ip_restriction=False, now=now) == []


def test_kraken_valid_until_becomes_an_expiry() -> None:
    check = kraken_check(kraken(["modify-trades"], valid_until="1893456000"))
    assert check.expires_at == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("junk", [{}, {"result": {}}, {"result": {"validUntil": "soon"}}])
def test_malformed_kraken_replies_are_unreadable_not_a_key_without_permissions(junk: dict) -> None:
    # Read as "no permissions", the owner was told to turn on trading on a key that had it.
    from vault.permissions import UnreadableCheck

    with pytest.raises(UnreadableCheck):
        kraken_check(junk)


def test_an_odd_kraken_expiry_reads_as_none() -> None:
    check = kraken_check({"result": {"permissions": ["modify-trades"], "validUntil": "soon"}})
    assert check.can_trade is True and check.expires_at is None


def test_paper_keys_report_their_permissions() -> None:
    check = paper_check({"withdraw": False, "spot_trade": True, "ip_restricted": True})
    assert enforce_policy(check, exchange_id="paper", require_ip_restriction=True) == []


def test_a_key_whose_withdraw_rights_are_unknown_is_refused_without_confirmation() -> None:
    with pytest.raises(KeyRefused, match="no safe way to check whether this key can withdraw"):
        enforce_policy(unverified_check(), exchange_id="kucoin", require_ip_restriction=False)


def test_a_confirmed_trade_only_key_is_accepted_with_warnings() -> None:
    check = replace(unverified_check(), trade_only_confirmed=True)
    assert enforce_policy(check, exchange_id="kucoin", require_ip_restriction=True) == [
        "ip_unverified",
        "permissions_unverified",
    ]


def test_a_confirmation_never_outweighs_a_known_withdraw_right() -> None:
    check = replace(bitvavo_check(can_trade=True, can_withdraw=True), trade_only_confirmed=True)
    with pytest.raises(KeyRefused, match="turn off “Withdraw”"):
        enforce_policy(check, exchange_id="bitvavo", require_ip_restriction=False)


def test_bitvavo_probes_name_bitvavos_permissions() -> None:
    with pytest.raises(KeyRefused, match="turn on “Trade”"):
        enforce_policy(
            bitvavo_check(can_trade=False, can_withdraw=False),
            exchange_id="bitvavo",
            require_ip_restriction=False,
        )
    ok = bitvavo_check(can_trade=True, can_withdraw=False)
    assert enforce_policy(ok, exchange_id="bitvavo", require_ip_restriction=True) == [
        "ip_unverified"
    ]


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scp": ["READ", "TRADE"]}, {"READ", "TRADE"}),
        ({"scope": "read trade withdraw"}, {"READ", "TRADE", "WITHDRAW"}),
        ({"sub": "x"}, None),
        ({"scp": []}, None),
        ({"scp": [1, 2]}, None),
        (None, None),
    ],
)
def test_a_keys_scopes_are_read_from_its_claims(claims, scopes) -> None:
    assert token_scopes(claims) == scopes


def test_a_one_trading_key_is_verified_only_when_it_lists_its_scopes() -> None:
    listed = onetrading_check(can_trade=True, scopes={"READ", "TRADE", "WITHDRAW"})
    unlisted = onetrading_check(can_trade=True, scopes=None)
    assert listed.verified and listed.can_withdraw is True
    assert not unlisted.verified and unlisted.can_withdraw is None


def test_the_check_serialises_for_storage() -> None:
    data = binance_check(BINANCE_TRADE_ONLY).as_json()
    assert data["expires_at"] == "2030-01-01T00:00:00+00:00"
    assert data["raw"]["enableWithdrawals"] is False
