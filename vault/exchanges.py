"""The exchanges a user can link, how each tells us about a key, and its key formats."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from functools import cache

import ccxt

PAPER = "paper"


@dataclass(frozen=True)
class KeyFormat:
    """What a well-formed key looks like on this exchange; ``why`` is shown when it is not."""

    api_key: re.Pattern[str] | None = None
    api_key_shape: str = ""
    private_part: re.Pattern[str] | None = None
    private_part_shape: str = ""
    private_part_base64: bool = False  # Kraken signs with the base64-decoded secret
    api_key_jwt: bool = False  # One Trading's key is a signed token


@dataclass(frozen=True)
class ExchangeInfo:
    id: str
    name: str
    # The guide page (vault:guide) for this exchange; None for the paper exchange.
    guide: str | None = None
    key_format: KeyFormat | None = None
    # Withdrawal rights that no safe call can reveal for every key: the user confirms.
    may_need_confirmation: bool = False
    supported: bool = True
    # Whether bots can place orders here: an order in doubt must be found again by
    # the name we gave it (trading/order_naming.py), and ccxt 4.5.90 cannot on every
    # exchange. Keys still link (balances, key checks); bots on them show blocked.
    places_orders: bool = True

    @property
    def label(self) -> str:
        """The name as the key and bot forms offer it."""
        return (
            self.name if self.places_orders else f"{self.name} (order placement not available yet)"
        )


_HMAC_64 = KeyFormat(
    api_key=re.compile(r"[A-Za-z0-9]{64}"),
    api_key_shape="a Binance API key is 64 letters and digits",
    private_part=re.compile(r"[A-Za-z0-9]{64}"),
    private_part_shape="a Binance secret key is 64 letters and digits (RSA and Ed25519 keys are not "
    "supported yet: create an HMAC key)",
)

SUPPORTED = [
    ExchangeInfo(PAPER, "Paper exchange (simulated, no real money)"),
    ExchangeInfo("binance", "Binance", guide="binance", key_format=_HMAC_64),
    ExchangeInfo("binanceus", "Binance US", guide="binance", key_format=_HMAC_64),
    ExchangeInfo(
        "kraken",
        "Kraken",
        guide="kraken",
        key_format=KeyFormat(
            api_key=re.compile(r"[A-Za-z0-9+/=]{40,128}"),
            api_key_shape="a Kraken API key is a long string of letters, digits, + and /",
            private_part_base64=True,
            private_part_shape="a Kraken private key is base64 (letters, digits, + and /, often ending "
            "in =), about 88 characters",
        ),
    ),
    ExchangeInfo(
        "bitvavo",
        "Bitvavo",
        guide="bitvavo",
        key_format=KeyFormat(
            api_key=re.compile(r"[A-Za-z0-9]{64}"),
            api_key_shape="a Bitvavo API key is 64 letters and digits",
            private_part=re.compile(r"[A-Za-z0-9]{64,256}"),
            private_part_shape="a Bitvavo API secret is 128 letters and digits",
        ),
        # ccxt's createOrder needs an operatorId we are not given.
        places_orders=False,
    ),
    ExchangeInfo(
        "onetrading",
        "One Trading (formerly Bitpanda Pro)",
        guide="onetrading",
        key_format=KeyFormat(
            api_key_jwt=True,
            api_key_shape="a One Trading API key is one long token starting with “eyJ”, "
            "with two dots in it",
        ),
        may_need_confirmation=True,
        # It wants a UUID client id, and ccxt cannot look an order up by one there.
        places_orders=False,
    ),
]
_SUPPORTED = {info.id: info for info in SUPPORTED}

# Guide pages: slug -> the exchanges it covers.
GUIDES = {
    "binance": ("binance", "binanceus"),
    "kraken": ("kraken",),
    "bitvavo": ("bitvavo",),
    "onetrading": ("onetrading",),
}


def exchange_choices() -> list[tuple[str, str]]:
    """Only exchanges whose keys we can check are offered for linking."""
    return [(info.id, info.label) for info in SUPPORTED]


def exchange_info(exchange_id: str) -> ExchangeInfo:
    """Supported exchanges; keys linked earlier on other ccxt exchanges still get a name."""
    if exchange_id in _SUPPORTED:
        return _SUPPORTED[exchange_id]
    if exchange_id in ccxt.exchanges:
        return ExchangeInfo(
            exchange_id, exchange_id.capitalize(), supported=False, places_orders=False
        )
    raise LookupError(f"Unknown exchange {exchange_id!r}")


def placement_unavailable(exchange_id: str) -> str | None:
    """Why bots cannot place orders on ``exchange_id`` yet, or None when they can."""
    try:
        info = exchange_info(exchange_id)
    except LookupError:
        return f"order placement on {exchange_id} is not available"
    if info.places_orders:
        return None
    name = info.name.split(" (")[0]  # "One Trading", not "One Trading (formerly …)"
    return f"order placement on {name} is not available yet"


@cache
def required_credentials(exchange_id: str) -> dict[str, bool]:
    """Which of apiKey, secret, password (passphrase) and uid the exchange needs."""
    if exchange_id == PAPER:
        return {"apiKey": True, "secret": True, "password": False, "uid": False}
    needed = dict(getattr(ccxt, exchange_id)().requiredCredentials)
    return {k: bool(needed.get(k)) for k in ("apiKey", "secret", "password", "uid")}


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def token_claims(token: str) -> dict[str, object] | None:
    """The claims of a JWT-shaped key, or None when it is not one. Signature not checked:
    the exchange checks it, and only claims of a token it accepted are trusted."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
    except (ValueError, binascii.Error, UnicodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
        return None
    return claims


def key_format_errors(exchange_id: str, *, api_key: str, secret: str) -> dict[str, str]:
    """Field -> message for a key or secret that cannot be what the exchange issues.

    Messages describe the expected shape and never repeat the value.
    """
    info = _SUPPORTED.get(exchange_id)
    if info is None or info.key_format is None:
        return {}
    fmt = info.key_format
    errors: dict[str, str] = {}
    if fmt.api_key is not None and not fmt.api_key.fullmatch(api_key):
        errors["api_key"] = f"This is not a {info.name} API key: {fmt.api_key_shape}."
    if fmt.api_key_jwt and (not api_key.startswith("eyJ") or token_claims(api_key) is None):
        errors["api_key"] = f"This is not a {info.name} API key: {fmt.api_key_shape}."
    if secret and fmt.private_part is not None and not fmt.private_part.fullmatch(secret):
        errors["secret"] = f"This is not a {info.name} secret: {fmt.private_part_shape}."
    if secret and fmt.private_part_base64:
        try:
            decoded = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) < 32:
            errors["secret"] = f"This is not a {info.name} private key: {fmt.private_part_shape}."
    return errors
