"""What an exchange says a key may do, and whether we accept that.

Pure functions over the exchanges' documented replies (Binance
``GET /sapi/v1/account/apiRestrictions``, Kraken ``POST /0/private/GetApiKeyInfo``,
the paper exchange's ``check_permissions()``), so the rules are tested without
a network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

# Kraken names its order permission differently across key generations.
KRAKEN_TRADE_PERMISSIONS = {"modify-trades", "create-modify-orders", "modify-orders"}
KRAKEN_WITHDRAW_PERMISSIONS = {"withdraw-funds"}


class KeyRefused(Exception):
    """The key must not be stored; the message tells the user what to change."""


@dataclass(frozen=True)
class KeyCheck:
    """What we learnt about a key. ``verified`` is False where the exchange does not tell."""

    verified: bool
    can_trade: bool | None
    can_withdraw: bool | None
    ip_restricted: bool | None
    expires_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return data


def _ms_to_datetime(value: Any) -> dt.datetime | None:
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC) if ms > 0 else None


def binance_check(reply: dict[str, Any]) -> KeyCheck:
    """Binance / Binance US ``apiRestrictions``."""
    return KeyCheck(
        verified=True,
        can_trade=bool(reply.get("enableSpotAndMarginTrading")),
        can_withdraw=bool(reply.get("enableWithdrawals")),
        ip_restricted=bool(reply.get("ipRestrict")),
        expires_at=_ms_to_datetime(reply.get("tradingAuthorityExpirationTime")),
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
    """Kraken ``GetApiKeyInfo`` (ccxt returns the whole envelope)."""
    result = reply.get("result", reply)
    permissions = set(result.get("permissions") or [])
    valid_until = result.get("validUntil")
    try:
        expires = int(valid_until or 0)
    except (TypeError, ValueError):
        expires = 0
    return KeyCheck(
        verified=True,
        can_trade=bool(permissions & KRAKEN_TRADE_PERMISSIONS),
        can_withdraw=bool(permissions & KRAKEN_WITHDRAW_PERMISSIONS),
        ip_restricted=bool(result.get("ipAllowlist")),
        expires_at=dt.datetime.fromtimestamp(expires, tz=dt.UTC) if expires > 0 else None,
        raw={"permissions": sorted(permissions), "ipAllowlist": result.get("ipAllowlist") or []},
    )


def paper_check(reply: dict[str, Any]) -> KeyCheck:
    return KeyCheck(
        verified=True,
        can_trade=bool(reply.get("spot_trade")),
        can_withdraw=bool(reply.get("withdraw")),
        ip_restricted=bool(reply.get("ip_restricted")),
        raw=dict(reply),
    )


def unverified_check() -> KeyCheck:
    return KeyCheck(verified=False, can_trade=None, can_withdraw=None, ip_restricted=None)


def enforce_policy(
    check: KeyCheck, *, exchange_name: str, require_ip_restriction: bool
) -> list[str]:
    """Refuse what must never be stored; return warnings for what may be.

    Raises KeyRefused naming the exact permission to change.
    """
    if check.can_withdraw:
        raise KeyRefused(
            f"This {exchange_name} key can withdraw funds. Edit the key on {exchange_name}, "
            "turn off “Enable Withdrawals” (withdraw permission), then link it again. "
            "OneClick only accepts keys that cannot move money off the exchange."
        )
    if check.verified and not check.can_trade:
        raise KeyRefused(
            f"This {exchange_name} key cannot trade spot. Edit the key on {exchange_name} and "
            "turn on spot trading (“Enable Spot & Margin Trading” on Binance, "
            "“Create & modify orders” on Kraken), then link it again."
        )
    warnings = []
    if check.verified and not check.ip_restricted:
        if require_ip_restriction:
            raise KeyRefused(
                f"This {exchange_name} key is not restricted to our IP addresses. "
                "Add them on the exchange (see the IP whitelist page), then link it again."
            )
        warnings.append("ip_unrestricted")
    if not check.verified:
        warnings.append("permissions_unverified")
    return warnings
