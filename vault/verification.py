"""Ask an exchange what a key may do, mapping its failures to plain words."""

from __future__ import annotations

import logging
import re
from typing import Any

import ccxt

from vault.exchanges import PAPER, exchange_info
from vault.permissions import (
    KeyCheck,
    KeyRefused,
    binance_check,
    kraken_check,
    paper_check,
    unverified_check,
)

logger = logging.getLogger(__name__)

# Binance: invalid key, IP not whitelisted or missing permission. ccxt may raise
# it as DDoSProtection or PermissionDenied rather than AuthenticationError.
_KEY_REJECTED_CODES = {"-2014", "-2015", "-1022", "-2008"}


class ExchangeUnavailable(Exception):
    """The exchange could not answer now (timeout, outage, rate limit): try later."""


def _error_code(exc: Exception) -> str | None:
    match = re.search(r'"code"\s*:\s*(-?\d+)', str(exc))
    return match.group(1) if match else None


def _read(client: Any, exchange_id: str) -> KeyCheck:
    if exchange_id == PAPER:
        return paper_check(client.check_permissions())
    if exchange_id in ("binance", "binanceus"):
        return binance_check(client.sapi_get_account_apirestrictions())
    if exchange_id == "kraken":
        return kraken_check(client.private_post_getapikeyinfo())
    # No permission endpoint: a private call at least proves the key works.
    client.fetch_balance()
    return unverified_check()


def inspect_key(client: Any, exchange_id: str) -> KeyCheck:
    """Authenticate the key and read its permissions.

    Raises KeyRefused when the exchange rejects the key, ExchangeUnavailable
    when it cannot be asked now. Messages never carry the exchange's raw reply.
    """
    name = exchange_info(exchange_id).name
    try:
        return _read(client, exchange_id)
    except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
        logger.info("%s rejected a key (%s)", exchange_id, type(exc).__name__)
        raise KeyRefused(
            f"{name} rejected this API key or secret. Check that you copied both completely, "
            "that the key is enabled, and that our IP addresses are on its whitelist."
        ) from None
    except ccxt.DDoSProtection as exc:
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
            raise KeyRefused(f"{name} rejected this key or secret.") from None
        raise ExchangeUnavailable(
            f"{name} answered with an error{f' ({code})' if code else ''}. Nothing was saved; "
            "try again later."
        ) from None
