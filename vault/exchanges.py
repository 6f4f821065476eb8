"""The exchanges a user can link, and how each tells us about a key."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import ccxt

PAPER = "paper"


@dataclass(frozen=True)
class ExchangeInfo:
    id: str
    name: str
    # True where we can read the key's permissions from the exchange itself.
    reads_permissions: bool


FEATURED = [
    ExchangeInfo(PAPER, "Paper exchange (simulated, no real money)", True),
    ExchangeInfo("binance", "Binance", True),
    ExchangeInfo("binanceus", "Binance US", True),
    ExchangeInfo("kraken", "Kraken", True),
    ExchangeInfo("bitvavo", "Bitvavo", False),
    ExchangeInfo("onetrading", "One Trading (Bitpanda)", False),
]
_FEATURED_IDS = {info.id for info in FEATURED}


@cache
def _ccxt_spot_exchanges() -> tuple[str, ...]:
    return tuple(sorted(set(ccxt.exchanges) - _FEATURED_IDS))


def exchange_choices() -> list[tuple[str, object]]:
    others = [(x, x) for x in _ccxt_spot_exchanges()]
    return [
        ("Featured", [(info.id, info.name) for info in FEATURED]),
        ("Other exchanges (permissions cannot be verified)", others),
    ]


def exchange_info(exchange_id: str) -> ExchangeInfo:
    for info in FEATURED:
        if info.id == exchange_id:
            return info
    if exchange_id in _ccxt_spot_exchanges():
        return ExchangeInfo(exchange_id, exchange_id.capitalize(), False)
    raise LookupError(f"Unknown exchange {exchange_id!r}")


@cache
def required_credentials(exchange_id: str) -> dict[str, bool]:
    """Which of apiKey, secret, password (passphrase) and uid the exchange needs."""
    if exchange_id == PAPER:
        return {"apiKey": True, "secret": True, "password": False, "uid": False}
    needed = dict(getattr(ccxt, exchange_id)().requiredCredentials)
    return {k: bool(needed.get(k)) for k in ("apiKey", "secret", "password", "uid")}
