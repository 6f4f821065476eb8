"""Errors the paper exchange raises beyond ccxt's own classes."""

from __future__ import annotations

import ccxt


class PaperRateLimited(ccxt.DDoSProtection):
    """A 429: still a ``DDoSProtection`` for callers, with the wait in seconds attached."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(f"{message} (Retry-After: {retry_after})")
        self.retry_after = retry_after


# Order rejections, each still the ccxt class ccxt raises for Binance's equivalent,
# told apart so the Binance emulator can answer with Binance's code and message.
class LotSizeFailure(ccxt.InvalidOrder):
    pass


class PriceFilterFailure(ccxt.InvalidOrder):
    pass


class NotionalFailure(ccxt.BadRequest):
    pass


class DuplicateOrder(ccxt.InvalidOrder):
    pass


class InvalidClientOrderId(ccxt.BadRequest):
    pass
