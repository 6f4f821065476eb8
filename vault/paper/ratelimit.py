"""A per-account request limit per clock minute, like an exchange's weight limit."""

from __future__ import annotations

from datetime import datetime

from vault.paper.errors import PaperRateLimited
from vault.paper.markets import EXCHANGE_ID
from vault.paper.models import PaperAccount
from vault.paper.prices import minute_of


def count_request(account: PaperAccount, *, now: datetime, limit: int | None) -> None:
    """Count one request; raise PaperRateLimited past ``limit`` in this minute.

    The account row must be locked by the caller. A refused request is not
    counted (its transaction rolls back), so a client that backs off recovers
    at the next minute.
    """
    if limit is None:
        return
    minute = minute_of(now)
    if account.rate_minute != minute:
        account.rate_minute = minute
        account.rate_count = 0
    if account.rate_count >= limit:
        seconds_left = max(1, 60 - int(now.timestamp()) % 60)
        raise PaperRateLimited(
            f"{EXCHANGE_ID} 429 Too many requests; current limit is {limit} requests per minute",
            retry_after=seconds_left,
        )
    account.rate_count += 1
    account.save(update_fields=["rate_minute", "rate_count"])
