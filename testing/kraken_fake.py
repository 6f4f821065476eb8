"""A local Kraken for key checks: ``POST /0/private/GetApiKeyInfo`` with Kraken's signing.

The signature is checked the way Kraken does (HMAC-SHA512 over the path and
SHA-256 of nonce + body, keyed with the base64-decoded secret), so a wrong
secret is refused with Kraken's own ``EAPI:Invalid signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from testing.http_fake import Call, FakeExchangeServer, Reply

# What Kraken's key page calls the permissions, as GetApiKeyInfo names them.
TRADE_ONLY = ["query-funds", "query-open-trades", "create-modify-orders", "cancel-close-orders"]


@dataclass
class KrakenKey:
    api_key: str
    secret: str
    permissions: list[str] = field(default_factory=lambda: list(TRADE_ONLY))
    ip_allowlist: list[str] = field(default_factory=lambda: ["203.0.113.10"])
    valid_until: int = 0


def new_kraken_key(**kwargs: object) -> KrakenKey:
    """Kraken's shapes: a 56-character key, a base64 secret of 64 bytes."""
    api_key = base64.b64encode(secrets.token_bytes(42)).decode()
    secret = base64.b64encode(secrets.token_bytes(64)).decode()
    return KrakenKey(api_key=api_key, secret=secret, **kwargs)  # type: ignore[arg-type]


class FakeKraken(FakeExchangeServer):
    def __init__(self) -> None:
        self.keys: dict[str, KrakenKey] = {}
        super().__init__()

    def add_key(self, **kwargs: object) -> KrakenKey:
        key = new_kraken_key(**kwargs)
        self.keys[key.api_key] = key
        return key

    def _signed_by(self, call: Call, key: KrakenKey) -> bool:
        nonce = dict(parse_qsl(call.body.decode())).get("nonce", "")
        digest = hashlib.sha256(nonce.encode() + call.body).digest()
        expected = hmac.new(
            base64.b64decode(key.secret), call.path.encode() + digest, hashlib.sha512
        ).digest()
        return hmac.compare_digest(base64.b64encode(expected).decode(), call.header("API-Sign"))

    def answer(self, call: Call) -> Reply:
        if call.method != "POST" or not call.path.startswith("/0/private/"):
            self.violate(f"unexpected {call.method} {call.path}")
            return Reply(404, {"error": ["EGeneral:Unknown method"]})
        key = self.keys.get(call.header("API-Key"))
        if key is None:
            return Reply(200, {"error": ["EAPI:Invalid key"]})
        if not self._signed_by(call, key):
            return Reply(200, {"error": ["EAPI:Invalid signature"]})
        if call.path != "/0/private/GetApiKeyInfo":
            # A key check only ever reads; anything else here is a bug in the check.
            self.violate(f"a key check called {call.path}")
            return Reply(200, {"error": ["EGeneral:Permission denied"]})
        return Reply(
            200,
            {
                "error": [],
                "result": {
                    "apiKeyName": "oneclick",
                    "permissions": key.permissions,
                    "validUntil": str(key.valid_until),
                    "ipAllowlist": key.ip_allowlist,
                },
            },
        )
