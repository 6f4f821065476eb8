"""Ask an exchange what a key may do, mapping its failures to plain words.

Binance, Binance US and Kraken describe a key (``apiRestrictions``,
``GetApiKeyInfo``). Bitvavo and One Trading do not, so their rights are read
from **probes**: requests the exchange refuses with a "no permission" code
when the key lacks the right, and that can never act when it has it — a cancel
of an order id that cannot exist; a withdrawal of amount 0 to an address that
is not one (invalid on two counts, so the exchange must reject it anyway).
"""

from __future__ import annotations

import binascii
import logging
import re
from collections.abc import Callable
from typing import Any

import ccxt

from vault.exchanges import PAPER, exchange_info, token_claims
from vault.permissions import (
    BITVAVO_NO_TRADE,
    BITVAVO_NO_VIEW,
    BITVAVO_NO_WITHDRAW,
    BITVAVO_PAST_PERMISSION,
    ONETRADING_NO_PERMISSION,
    ONETRADING_PAST_PERMISSION,
    KeyCheck,
    KeyRefused,
    UnreadableCheck,
    binance_check,
    bitvavo_check,
    kraken_check,
    onetrading_check,
    paper_check,
    token_scopes,
    unverified_check,
)

logger = logging.getLogger(__name__)

# Binance: invalid key, IP not whitelisted or missing permission. ccxt may raise
# it as DDoSProtection or PermissionDenied rather than AuthenticationError.
# Kraken: a wrong private key, which ccxt 4.5.90 raises as a bare ExchangeError.
_KEY_REJECTED_CODES = {"-2014", "-2015", "-1022", "-2008", "EAPI:Invalid signature"}
# Error codes saying the key may not read the account (a right we need to sync).
_NO_READ_CODES = {BITVAVO_NO_VIEW, ONETRADING_NO_PERMISSION}

# Probe parameters, invalid by construction: no such order can exist, and no
# withdrawal of zero to a string that is no address can be carried out.
NO_SUCH_ORDER_ID = "00000000-0000-0000-0000-000000000000"
PROBE_WITHDRAWAL = {
    "symbol": "BTC",
    "amount": "0",
    "address": "oneclick-permission-probe-not-an-address",
}
# Bitvavo wants an operator id (MiCA) on order endpoints; any integer identifies us.
BITVAVO_OPERATOR_ID = 1


class ExchangeUnavailable(Exception):
    """The exchange could not answer now (timeout, outage, rate limit): try later."""


_CODE_PATTERNS = (
    re.compile(r'"code"\s*:\s*(-?\d+)'),  # Binance
    re.compile(r'"errorCode"\s*:\s*(\d+)'),  # Bitvavo
    re.compile(r'"error"\s*:\s*"([A-Z_]+)"'),  # One Trading
    re.compile(r'"error"\s*:\s*\[\s*"([^"]+)"'),  # Kraken
)


def _error_code(exc: Exception) -> str | None:
    text = str(exc)
    for pattern in _CODE_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def _probe(request: Callable[[], Any], *, denied: str, past_permission: set[str]) -> bool:
    """Send a request that must fail and read why it failed.

    False: refused for lack of the permission. True: it got past the permission
    check (a parameter or "not found" error). Any other answer propagates to
    ``inspect_key`` (key rejected, outage, an error we do not know).
    """
    try:
        request()
    except ccxt.ExchangeError as exc:
        code = _error_code(exc)
        if code == denied:
            return False
        if code in past_permission:
            return True
        raise
    # Never by design: the parameters cannot succeed. Treat it as the right being there.
    logger.error("A permission probe succeeded; treating the key as having the permission")
    return True


def _read_account(request: Callable[[], Any], exchange_id: str) -> None:
    """The first private call: proves the key, and that it may read balances."""
    try:
        request()
    except ccxt.PermissionDenied as exc:
        if _error_code(exc) not in _NO_READ_CODES:
            raise
        name = exchange_info(exchange_id).name
        raise KeyRefused(
            f"This {name} key cannot read your account. Edit the key on {name}, turn on "
            f"“{'View' if exchange_id == 'bitvavo' else 'Read'}”, then link it again."
        ) from None


def _bitvavo(client: Any) -> KeyCheck:
    _read_account(client.private_get_balance, "bitvavo")
    can_trade = _probe(
        lambda: client.private_delete_order(
            {"market": "BTC-EUR", "orderId": NO_SUCH_ORDER_ID, "operatorId": BITVAVO_OPERATOR_ID}
        ),
        denied=BITVAVO_NO_TRADE,
        past_permission=BITVAVO_PAST_PERMISSION,
    )
    can_withdraw = _probe(
        lambda: client.private_post_withdrawal(dict(PROBE_WITHDRAWAL)),
        denied=BITVAVO_NO_WITHDRAW,
        past_permission=BITVAVO_PAST_PERMISSION,
    )
    return bitvavo_check(can_trade=can_trade, can_withdraw=can_withdraw)


def _onetrading(client: Any) -> KeyCheck:
    # The key's claims are read only after the exchange accepted the token: an
    # edited claim breaks its signature and the exchange refuses it.
    _read_account(client.private_get_account_balances, "onetrading")
    can_trade = _probe(
        lambda: client.private_delete_account_orders_order_id({"order_id": NO_SUCH_ORDER_ID}),
        denied=ONETRADING_NO_PERMISSION,
        past_permission=ONETRADING_PAST_PERMISSION,
    )
    return onetrading_check(can_trade=can_trade, scopes=token_scopes(token_claims(client.apiKey)))


_READERS: dict[str, Callable[[Any], KeyCheck]] = {
    PAPER: lambda client: paper_check(client.check_permissions()),
    "binance": lambda client: binance_check(client.sapi_get_account_apirestrictions()),
    "binanceus": lambda client: binance_check(client.sapi_get_account_apirestrictions()),
    "kraken": lambda client: kraken_check(client.private_post_getapikeyinfo()),
    "bitvavo": _bitvavo,
    "onetrading": _onetrading,
}


def _read(client: Any, exchange_id: str) -> KeyCheck:
    reader = _READERS.get(exchange_id)
    if reader is not None:
        return reader(client)
    # A key linked earlier on an exchange we no longer offer: a private call at
    # least proves the key works; withdrawal rights stay unknown.
    client.fetch_balance()
    return unverified_check()


def _rejected(name: str) -> KeyRefused:
    return KeyRefused(
        f"{name} rejected this API key or secret. Check that you copied both completely, "
        "that the key is enabled, and that our IP addresses are on its whitelist."
    )


def inspect_key(client: Any, exchange_id: str) -> KeyCheck:
    """Authenticate the key and read its permissions.

    Raises KeyRefused when the exchange rejects the key (or it cannot even be
    used to sign a request), ExchangeUnavailable when the exchange cannot be
    asked now. Messages never carry the exchange's raw reply or the key.
    """
    name = exchange_info(exchange_id).name
    try:
        return _read(client, exchange_id)
    except UnreadableCheck as exc:
        logger.warning("%s answered a key check in an unknown shape (%s)", exchange_id, exc)
        raise ExchangeUnavailable(
            f"{name} answered our check of the key's permissions with a reply we could not "
            "read, so we cannot tell whether it can withdraw. Nothing was saved; try again later."
        ) from None
    except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
        logger.info("%s rejected a key (%s)", exchange_id, type(exc).__name__)
        raise _rejected(name) from None
    # RateLimitExceeded (e.g. Bitvavo 103-105) is not a DDoSProtection in ccxt 4.5.90.
    except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as exc:
        if _error_code(exc) in _KEY_REJECTED_CODES:
            raise KeyRefused(
                f"{name} rejected this key: it is invalid, revoked, or our IP addresses "
                "are not on its whitelist."
            ) from None
        raise ExchangeUnavailable(
            f"{name} is limiting our requests right now. Nothing was saved; try again in a minute."
        ) from None
    except ccxt.OperationFailed as exc:  # timeouts, dropped connections, 5xx
        logger.warning("%s unreachable while checking a key (%s)", exchange_id, type(exc).__name__)
        raise ExchangeUnavailable(
            f"We could not reach {name} (timeout or connection failure). Nothing was saved; "
            "try again in a moment."
        ) from None
    except ccxt.ExchangeError as exc:
        code = _error_code(exc)
        logger.warning("%s refused a key check (code %s)", exchange_id, code)
        if code in _KEY_REJECTED_CODES:
            raise _rejected(name) from None
        raise ExchangeUnavailable(
            f"{name} answered with an error{f' ({code})' if code else ''}. Nothing was saved; "
            "try again later."
        ) from None
    except (binascii.Error, ValueError, TypeError, UnicodeError) as exc:
        # Raised by ccxt's signer before anything is sent (e.g. a Kraken secret
        # that is not base64). Only the type is logged: the text may quote input.
        logger.info("%s key could not sign a request (%s)", exchange_id, type(exc).__name__)
        raise KeyRefused(
            f"This key or secret is not in the format {name} issues, so no request could be "
            f"signed with it. Copy both again from {name}'s API key page."
        ) from None
