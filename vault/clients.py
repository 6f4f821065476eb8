"""The one door to exchanges: the only code that turns a key into a client.

Every client has ccxt's rate limiter on and a timeout; sandbox and test
routing come from settings (``EXCHANGE_SANDBOX``, ``EXCHANGE_URL_OVERRIDES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ccxt
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from paper.exchange import PaperExchange
from vault.exchanges import PAPER


@dataclass(frozen=True, repr=False)
class KeyMaterial:
    """Opened secrets, held only for the time a client is built."""

    api_key: str
    secret: str
    password: str = ""
    uid: str = ""

    def __repr__(self) -> str:
        return "<KeyMaterial (hidden)>"


def _rewrite_host(url: Any, base: str) -> Any:
    if isinstance(url, dict):
        return {k: _rewrite_host(v, base) for k, v in url.items()}
    if not isinstance(url, str) or "://" not in url:
        return url
    target = urlsplit(base)
    parts = urlsplit(url)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def route_to(client: ccxt.Exchange, base_url: str) -> None:
    """Point every API URL of ``client`` at ``base_url`` (tests' exchange emulator)."""
    client.urls["api"] = _rewrite_host(client.urls["api"], base_url)


@sensitive_variables("key")
def build_client(exchange_id: str, key: KeyMaterial) -> Any:
    if exchange_id == PAPER:
        return PaperExchange(apiKey=key.api_key, secret=key.secret)
    exchange_class = getattr(ccxt, exchange_id)
    config: dict[str, Any] = {
        "apiKey": key.api_key,
        "secret": key.secret,
        "enableRateLimit": True,
        "timeout": settings.EXCHANGE_TIMEOUT_MS,
        # Spot only: with keys set, Binance would also call margin endpoints.
        # adjustForTimeDifference keeps signed requests inside Binance's recvWindow
        # (-1021 otherwise); trading.market_cache shares the offset between tasks.
        "options": {
            "adjustForTimeDifference": True,
            "defaultType": "spot",
            "fetchMarkets": ["spot"],
            "fetchCurrencies": False,
            "fetchMargins": False,
        },
    }
    if key.password:
        config["password"] = key.password
    if key.uid:
        config["uid"] = key.uid
    client = exchange_class(config)
    if settings.EXCHANGE_SANDBOX:
        client.set_sandbox_mode(True)
    override = settings.EXCHANGE_URL_OVERRIDES.get(exchange_id)
    if override:
        route_to(client, override)
    return client


def public_client(exchange_id: str) -> Any:
    """A client without keys, for market data."""
    return build_client(exchange_id, KeyMaterial(api_key="", secret=""))
