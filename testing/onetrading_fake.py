"""A local One Trading (``/fast/v1``) for key checks, with One Trading's error names.

One Trading's API key is a signed token (a JWT) sent as ``Authorization: Bearer``;
its scopes are Read, Trade and Withdraw. This fake accepts only the exact tokens
it issued (a token whose claims were edited is ``INVALID_CREDENTIALS``, as the
exchange's signature check would make it), answers ``MISSING_PERMISSION`` when
a scope is missing, and ``ORDER_NOT_FOUND`` to a cancel of an order that does
not exist. It offers no withdrawal endpoint: a key check never calls one.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field

from testing.http_fake import Call, FakeExchangeServer, Reply

READ, TRADE, WITHDRAW = "READ", "TRADE", "WITHDRAW"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(scopes: list[str], *, scope_claim: str | None = "scp") -> str:
    """A token shaped like One Trading's: RS256 header, claims, a 256-byte signature.

    ``scope_claim=None`` leaves the scopes out of the claims (they are then
    known only to the exchange).
    """
    header = {"alg": "RS256", "kid": "exchange-live", "typ": "JWT"}
    claims: dict[str, object] = {
        "iss": "https://api.onetrading.com",
        "aud": "https://api.onetrading.com",
        "sub": str(uuid.uuid4()),
        "iat": int(time.time()),
        "nonce": secrets.token_hex(8),
    }
    if scope_claim:
        claims[scope_claim] = scopes
    return ".".join(
        (
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(claims).encode()),
            _b64url(secrets.token_bytes(256)),
        )
    )


@dataclass
class OneTradingKey:
    token: str
    scopes: set[str] = field(default_factory=lambda: {READ, TRADE})
    allowed_from_here: bool = True


def _error(status: int, name: str) -> Reply:
    return Reply(status, {"error": name})


class FakeOneTrading(FakeExchangeServer):
    def __init__(self) -> None:
        self.keys: dict[str, OneTradingKey] = {}
        super().__init__()

    def add_key(
        self,
        scopes: tuple[str, ...] = (READ, TRADE),
        *,
        scope_claim: str | None = "scp",
        allowed_from_here: bool = True,
    ) -> OneTradingKey:
        key = OneTradingKey(
            token=make_token(list(scopes), scope_claim=scope_claim),
            scopes=set(scopes),
            allowed_from_here=allowed_from_here,
        )
        self.keys[key.token] = key
        return key

    def revoke(self, key: OneTradingKey) -> None:
        self.keys.pop(key.token, None)

    def answer(self, call: Call) -> Reply:
        auth = call.header("Authorization")
        if not auth.startswith("Bearer "):
            return _error(401, "MISSING_CREDENTIALS")
        key = self.keys.get(auth.removeprefix("Bearer "))
        if key is None:
            return _error(401, "INVALID_CREDENTIALS")
        if not key.allowed_from_here:
            return _error(401, "INVALID_IP_RESTRICTION")
        if call.method == "GET" and call.path == "/fast/v1/account/balances":
            if READ not in key.scopes:
                return _error(403, "MISSING_PERMISSION")
            return Reply(
                200,
                {
                    "account_id": str(uuid.uuid4()),
                    "balances": [{"currency_code": "EUR", "available": "250.0", "locked": "0.0"}],
                },
            )
        if call.method == "DELETE" and call.path.startswith("/fast/v1/account/orders/"):
            if TRADE not in key.scopes:
                return _error(403, "MISSING_PERMISSION")
            return _error(404, "ORDER_NOT_FOUND")
        self.violate(f"a key check called {call.method} {call.path}")
        return _error(404, "NOT_FOUND")
