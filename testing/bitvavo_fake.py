"""A local Bitvavo (``/v2``) for key checks, answering with Bitvavo's own error codes.

Bitvavo has no endpoint that describes a key, so OneClick probes it:

* ``GET /v2/balance`` proves the key and its *View* permission (311 otherwise);
* ``DELETE /v2/order`` for an order id that cannot exist: 310 when the key may
  not trade, 240 "No order found" when it may;
* ``POST /v2/withdrawal`` of amount 0 to an address that is not one: 312 when
  the key may not withdraw, a parameter error (205) when it may.

Like Bitvavo, this fake checks the key's permission before the parameters.
It asserts the withdrawal probe can never succeed: an amount other than zero,
or an address not made by ``is_probe_address``, is a violation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from testing.http_fake import Call, FakeExchangeServer, Reply

PROBE_ADDRESS_PREFIX = "oneclick-permission-probe"


@dataclass
class BitvavoKey:
    api_key: str
    secret: str
    can_view: bool = True
    can_trade: bool = True
    can_withdraw: bool = False
    allowed_from_here: bool = True


def _error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"errorCode": code, "error": message})


class FakeBitvavo(FakeExchangeServer):
    def __init__(self) -> None:
        self.keys: dict[str, BitvavoKey] = {}
        self.withdrawals_attempted = 0
        super().__init__()

    def add_key(self, **kwargs: bool) -> BitvavoKey:
        """Bitvavo's shapes: a 64-character hex key, a 128-character hex secret."""
        key = BitvavoKey(api_key=secrets.token_hex(32), secret=secrets.token_hex(64), **kwargs)
        self.keys[key.api_key] = key
        return key

    def _authenticate(self, call: Call) -> BitvavoKey | Reply:
        api_key = call.header("Bitvavo-Access-Key")
        if len(api_key) != 64:
            return _error(403, 301, "API Key must be of length 64.")
        key = self.keys.get(api_key)
        if key is None:
            return _error(403, 305, "No active API key found.")
        target = call.path + (f"?{call.raw_query}" if call.raw_query else "")
        payload = call.header("Bitvavo-Access-Timestamp") + call.method + target
        payload += call.body.decode()
        expected = hmac.new(key.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, call.header("Bitvavo-Access-Signature")):
            return _error(403, 309, "The signature is invalid.")
        if not key.allowed_from_here:
            return _error(403, 307, "This key does not allow access from this IP.")
        return key

    def answer(self, call: Call) -> Reply:
        route = (call.method, call.path)
        if route == ("POST", "/v2/withdrawal"):
            self._check_probe_is_harmless(call)
        key = self._authenticate(call)
        if isinstance(key, Reply):
            return key
        if route == ("GET", "/v2/balance"):
            if not key.can_view:
                return _error(403, 311, "This key does not allow showing account information.")
            return Reply(200, [{"symbol": "EUR", "available": "250.00", "inOrder": "0"}])
        if route == ("DELETE", "/v2/order"):
            if not key.can_trade:
                return _error(403, 310, "This key does not allow trading actions.")
            return _error(404, 240, "No order found. Please be aware that simultaneously "
                          "updating the same order may return this error.")  # fmt: skip
        if route == ("POST", "/v2/withdrawal"):
            if not key.can_withdraw:
                return _error(403, 312, "This key does not allow withdrawal of funds.")
            self.withdrawals_attempted += 1
            return _error(400, 205, "amount parameter is invalid.")
        self.violate(f"a key check called {call.method} {call.path}")
        return _error(404, 110, "Invalid endpoint. Please check url and HTTP method.")

    def _check_probe_is_harmless(self, call: Call) -> None:
        body = call.json()
        try:
            amount = Decimal(str(body.get("amount")))
        except InvalidOperation:
            amount = None
        if amount != 0:
            self.violate(f"withdrawal probe with amount {body.get('amount')!r}")
        if not str(body.get("address", "")).startswith(PROBE_ADDRESS_PREFIX):
            self.violate("withdrawal probe to an address that could be real")
