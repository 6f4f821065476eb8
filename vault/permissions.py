"""What an exchange says a key may do, and whether we accept that.

Pure functions over the exchanges' documented replies (Binance
``GET /sapi/v1/account/apiRestrictions``, Kraken ``POST /0/private/GetApiKeyInfo``,
the paper exchange's ``check_permissions()``), over the error codes Bitvavo and
One Trading answer our probes with, and over the scopes a One Trading key
carries, so the rules are tested without a network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from vault.exchanges import exchange_info

# Kraken names its order permission differently across key generations.
KRAKEN_TRADE_PERMISSIONS = {"modify-trades", "create-modify-orders", "modify-orders"}
KRAKEN_WITHDRAW_PERMISSIONS = {"withdraw-funds"}

# The words each exchange's key page uses: (withdraw permission, spot trading permission).
PERMISSION_NAMES = {
    "binance": ("Enable Withdrawals", "Enable Spot & Margin Trading"),
    "binanceus": ("Enable Withdrawals", "Enable Spot & Margin Trading"),
    "kraken": ("Withdraw funds", "Create & modify orders"),
    "bitvavo": ("Withdraw", "Trade"),
    "onetrading": ("Withdraw", "Trade"),
    "paper": ("withdraw", "spot trade"),
}

# Bitvavo error codes (docs.bitvavo.com, ccxt's bitvavo ``exceptions``).
BITVAVO_NO_TRADE = "310"  # This key does not allow trading actions.
BITVAVO_NO_VIEW = "311"  # This key does not allow showing account information.
BITVAVO_NO_WITHDRAW = "312"  # This key does not allow withdrawal of funds.
# Answers that mean the request got past the key's permission check: a parameter,
# order, balance or address error. Bitvavo checks the key's rights first.
BITVAVO_PAST_PERMISSION = {
    "200", "201", "202", "203", "204", "205", "206", "210", "212", "216", "217",
    "233", "240", "402", "403", "405", "406", "407", "408", "409", "410", "411",
    "412", "413", "414",
}  # fmt: skip

# One Trading error names (ccxt's onetrading ``exceptions``).
ONETRADING_NO_PERMISSION = "MISSING_PERMISSION"
ONETRADING_PAST_PERMISSION = {"ORDER_NOT_FOUND", "NOT_FOUND", "INVALID_ORDER_ID"}
# Where a One Trading key's claims may list its scopes.
_SCOPE_CLAIMS = ("scp", "scope", "scopes", "permissions", "perms")


class KeyRefused(Exception):
    """The key must not be stored; the message tells the user what to change."""


class UnreadableCheck(Exception):
    """The exchange's description of the key is not in its documented shape (a flag
    missing or not a boolean, not an object): it says nothing we may rely on."""


@dataclass(frozen=True)
class KeyCheck:
    """What we learnt about a key. ``verified`` is False where the exchange does not tell."""

    verified: bool
    can_trade: bool | None
    can_withdraw: bool | None
    ip_restricted: bool | None
    expires_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # How we know: "endpoint", "probe", "token", "simulated" ("" when we do not).
    how: str = ""
    # The owner ticked "this key cannot withdraw" where no safe check could tell.
    trade_only_confirmed: bool = False

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return data


# Later than this is an exchange's way of saying "never": the calendar's last day
# (9999-12-31) overflows into the year 10000 wherever it is shown east of UTC.
LATEST_EXPIRY = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
# Earlier than this is a placeholder (0, 1 ms), not a date a key expired on: no
# exchange key existed then, and shown it read "expires on 1970-01-01".
EARLIEST_EXPIRY = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _epoch_to_datetime(value: Any, *, per_second: int) -> dt.datetime | None:
    """A positive epoch time (in 1/``per_second`` seconds) or None, for any input."""
    if isinstance(value, bool):
        return None  # int(True) is 1: a flag is no time
    try:
        ticks = int(value)
        when = dt.datetime.fromtimestamp(ticks / per_second, tz=dt.UTC) if ticks > 0 else None
    except (TypeError, ValueError, OverflowError, OSError):  # no time any calendar has
        return None
    return when if when is not None and EARLIEST_EXPIRY <= when < LATEST_EXPIRY else None


def _ms_to_datetime(value: Any) -> dt.datetime | None:
    return _epoch_to_datetime(value, per_second=1000)


def _flag(reply: dict[str, Any], name: str) -> bool:
    value = reply.get(name)
    if not isinstance(value, bool):
        # bool(None) would read a missing "enableWithdrawals" as "cannot withdraw".
        raise UnreadableCheck(f"{name} is {type(value).__name__}, not true or false")
    return value


def binance_check(reply: dict[str, Any]) -> KeyCheck:
    """Binance / Binance US ``apiRestrictions``.

    Raises UnreadableCheck when the trade or withdraw flag is not a boolean."""
    if not isinstance(reply, dict):
        raise UnreadableCheck(f"the reply is a {type(reply).__name__}, not an object")
    return KeyCheck(
        verified=True,
        can_trade=_flag(reply, "enableSpotAndMarginTrading"),
        can_withdraw=_flag(reply, "enableWithdrawals"),
        ip_restricted=bool(reply.get("ipRestrict")),
        expires_at=_ms_to_datetime(reply.get("tradingAuthorityExpirationTime")),
        how="endpoint",
        raw={
            k: reply.get(k)
            for k in (
                "ipRestrict",
                "enableReading",
                "enableSpotAndMarginTrading",
                "enableWithdrawals",
                "enableInternalTransfer",
                "permitsUniversalTransfer",
                "enableMargin",
                "enableFutures",
                "tradingAuthorityExpirationTime",
            )
            if k in reply
        },
    )


def kraken_check(reply: dict[str, Any]) -> KeyCheck:
    """Kraken ``GetApiKeyInfo`` (ccxt returns the whole envelope).

    Raises UnreadableCheck when it lists no permissions (a list of names)."""
    result = reply.get("result", reply) if isinstance(reply, dict) else None
    listed = result.get("permissions") if isinstance(result, dict) else None
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        raise UnreadableCheck("the reply lists no permissions")
    permissions = set(listed)
    expires_at = _epoch_to_datetime(result.get("validUntil"), per_second=1)
    return KeyCheck(
        verified=True,
        can_trade=bool(permissions & KRAKEN_TRADE_PERMISSIONS),
        can_withdraw=bool(permissions & KRAKEN_WITHDRAW_PERMISSIONS),
        ip_restricted=bool(result.get("ipAllowlist")),
        expires_at=expires_at,
        how="endpoint",
        raw={"permissions": sorted(permissions), "ipAllowlist": result.get("ipAllowlist") or []},
    )


def paper_check(reply: dict[str, Any]) -> KeyCheck:
    return KeyCheck(
        verified=True,
        can_trade=bool(reply.get("spot_trade")),
        can_withdraw=bool(reply.get("withdraw")),
        ip_restricted=bool(reply.get("ip_restricted")),
        raw=dict(reply),
        how="simulated",
    )


def bitvavo_check(*, can_trade: bool, can_withdraw: bool) -> KeyCheck:
    """Bitvavo describes no key: both rights come from probes (see vault.verification)."""
    return KeyCheck(
        verified=True,
        can_trade=can_trade,
        can_withdraw=can_withdraw,
        ip_restricted=None,  # Bitvavo does not say; a call from elsewhere gets 307
        how="probe",
        raw={"trade_probe": can_trade, "withdraw_probe": can_withdraw},
    )


def token_scopes(claims: dict[str, Any] | None) -> set[str] | None:
    """Upper-cased scopes listed in a key's claims, or None when it lists none."""
    for name in _SCOPE_CLAIMS:
        value = (claims or {}).get(name)
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return {v.upper() for v in value}
    return None


def onetrading_check(*, can_trade: bool, scopes: set[str] | None) -> KeyCheck:
    """Trade from the probe; withdraw from the key's own scopes when it lists them.

    One Trading has no withdrawal endpoint a check could safely call, so a key
    whose claims do not list its scopes leaves withdrawal unknown.
    """
    can_withdraw = None if scopes is None else any("WITHDRAW" in s for s in scopes)
    return KeyCheck(
        verified=can_withdraw is not None,
        can_trade=can_trade,
        can_withdraw=can_withdraw,
        ip_restricted=None,
        how="token" if scopes is not None else "probe",
        raw={"trade_probe": can_trade, "scopes": sorted(scopes) if scopes else None},
    )


def unverified_check() -> KeyCheck:
    return KeyCheck(verified=False, can_trade=None, can_withdraw=None, ip_restricted=None)


def enforce_policy(
    check: KeyCheck,
    *,
    exchange_id: str,
    require_ip_restriction: bool,
    now: dt.datetime | None = None,
) -> list[str]:
    """Refuse what must never be stored; return warnings for what may be.

    A key that can withdraw, or cannot trade spot, is refused naming the exact
    permission to change; so is a key whose trading permission expired (at
    ``now``) and a key whose withdrawal rights are unknown unless its owner
    confirmed it is trade-only. Raises KeyRefused.
    """
    exchange_name = exchange_info(exchange_id).name
    withdraw, trade = PERMISSION_NAMES.get(exchange_id, ("withdrawals", "spot trading"))
    if check.can_withdraw:
        raise KeyRefused(
            f"This {exchange_name} key can withdraw funds. Edit the key on {exchange_name}, "
            f"turn off “{withdraw}” (withdraw permission), then link it again. "
            "OneClick only accepts keys that cannot move money off the exchange."
        )
    if check.can_trade is False or (check.verified and not check.can_trade):
        raise KeyRefused(
            f"This {exchange_name} key cannot trade spot. Edit the key on {exchange_name} and "
            f"turn on “{trade}”, then link it again."
        )
    if check.expires_at is not None and check.expires_at <= (now or dt.datetime.now(dt.UTC)):
        # The exchange refuses every order of such a key: linked, it would look working.
        raise KeyRefused(
            f"This {exchange_name} key's trading permission expired on "
            f"{check.expires_at:%Y-%m-%d %H:%M} UTC. Create a new key on {exchange_name} "
            "and link it instead."
        )
    if check.can_withdraw is None and not check.trade_only_confirmed:
        raise KeyRefused(
            f"{exchange_name} gives us no safe way to check whether this key can withdraw. "
            f"Make sure “{withdraw}” is off for this key on {exchange_name}, then tick "
            "“This key cannot withdraw” and link it again."
        )
    warnings = []
    if check.ip_restricted is None:
        warnings.append("ip_unverified")
    elif not check.ip_restricted:
        if require_ip_restriction:
            raise KeyRefused(
                f"This {exchange_name} key is not restricted to our IP addresses. "
                "Add them on the exchange (see the IP whitelist page), then link it again."
            )
        warnings.append("ip_unrestricted")
    if check.can_withdraw is None:
        warnings.append("permissions_unverified")
    return warnings
