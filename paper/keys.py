"""Paper API keys: issuing them, and opening the account a key stands for."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import ccxt

from paper import fastsql
from paper.config import PaperConfig
from paper.markets import EXCHANGE_ID
from paper.models import PaperAccount, PaperBalance


class FaultArmed(Exception):
    """A fault is armed for this call: take it outside the transaction, then retry."""


def new_credentials() -> tuple[str, str]:
    """A fresh (api_key, secret) pair for a new paper account."""
    return f"paper-{secrets.token_hex(16)}", secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def require_credentials(api_key: str | None, secret: str | None) -> tuple[str, str]:
    if not api_key or not secret:
        # ccxt's wording for a private call without keys.
        raise ccxt.AuthenticationError(f'{EXCHANGE_ID} requires "apiKey" and "secret" credentials')
    return api_key, secret


def locked_account(
    api_key: str,
    secret: str,
    config: PaperConfig,
    *,
    fault_method: str | None = None,
    client_order_id: str | None = None,
) -> fastsql.Locked:
    """The key's account, locked for this transaction; created and funded on first use.

    Must run inside ``transaction.atomic()``. Raises ``ccxt.AuthenticationError``
    when the secret is not the one the account was opened with, and FaultArmed
    when ``fault_method`` is given and a fault is armed for it (one query finds
    the account, locks it and looks for faults; on PostgreSQL the same round
    trip reads the balances and whether ``client_order_id`` is taken).
    """

    def lock() -> fastsql.Locked | None:
        return fastsql.lock_account(
            api_key,
            fault_method,
            client_order_id=client_order_id,
            exclude_closed=config.reuse_client_order_id_after_fill,
        )

    locked = lock()
    if locked is None:
        # get_or_create copes with two processes opening the same new key at once.
        PaperAccount.objects.get_or_create(
            api_key=api_key, defaults={"secret_sha256": hash_secret(secret)}
        )
        locked = lock()
        assert locked is not None  # noqa: S101 - created just above, in this transaction
    if locked.fault_armed:
        raise FaultArmed
    account = locked.account
    if not hmac.compare_digest(account.secret_sha256, hash_secret(secret)):
        raise ccxt.AuthenticationError(f"{EXCHANGE_ID} invalid API secret for this API key")
    if not account.funded:
        PaperBalance.objects.bulk_create(
            PaperBalance(account=account, asset=asset, free=amount)
            for asset, amount in config.starting_balances.items()
        )
        account.funded = True
        fastsql.update(account, ("funded",))
        locked.balances = None  # read before the funding: read again when needed
    return locked
