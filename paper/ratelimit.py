"""Per-account limits, like an exchange's: requests per clock minute and new
orders per 10-second window. Both count on the locked account row, written back
with the rest of the call's changes; a refused call rolls back and is not counted.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.db.models import F

from paper import fastsql
from paper.errors import PaperRateLimited
from paper.markets import EXCHANGE_ID
from paper.models import PaperAccount
from paper.prices import minute_of

ORDER_WINDOW_SECONDS = 10


def count_request(
    account: PaperAccount,
    *,
    now: datetime,
    limit: int | None,
    weight: int = 0,
    weight_limit: int | None = None,
) -> None:
    """Count one request of ``weight``; raise PaperRateLimited past ``limit`` requests
    or ``weight_limit`` weight (Binance -1003) in this clock minute.

    The account row must be locked by the caller, who saves it.
    """
    minute = minute_of(now)
    if account.rate_minute != minute:
        account.rate_minute = minute
        account.rate_count = 0
        account.rate_weight = 0
    seconds_left = max(1, 60 - int(now.timestamp()) % 60)
    if limit is not None and account.rate_count >= limit:
        raise PaperRateLimited(
            f"{EXCHANGE_ID} 429 Too many requests; current limit is {limit} requests per minute",
            retry_after=seconds_left,
        )
    if weight_limit is not None and account.rate_weight + weight > weight_limit:
        raise PaperRateLimited(
            f'{EXCHANGE_ID} 429 {{"code":-1003,"msg":"Too much request weight used; current '
            f'limit is {weight_limit} request weight per 1 MINUTE."}}',
            retry_after=seconds_left,
        )
    account.rate_count += 1
    account.rate_weight += weight
    account.requests += 1
    account.weight += weight


def count_order(account: PaperAccount, *, now: datetime, limit: int | None) -> None:
    """Count one new order; raise PaperRateLimited (Binance -1015) past ``limit`` per 10 s.

    The account row must be locked by the caller, who saves it.
    """
    stamp = now.timestamp()
    window = math.floor(stamp / ORDER_WINDOW_SECONDS)
    if account.order_window != window:
        account.order_window = window
        account.order_window_count = 0
    if limit is not None and account.order_window_count >= limit:
        seconds_left = max(1, math.ceil((window + 1) * ORDER_WINDOW_SECONDS - stamp))
        raise PaperRateLimited(
            f'{EXCHANGE_ID} 429 {{"code":-1015,"msg":"Too many new orders; current limit is '
            f'{limit} orders per 10 SECOND."}}',
            retry_after=seconds_left,
        )
    account.order_window_count += 1


def count_public_request(api_key: str, *, weight: int) -> None:
    """Add a keyed public request to the account's totals (none before it exists)."""
    with fastsql.writer_turn():
        PaperAccount.objects.filter(api_key=api_key).update(
            requests=F("requests") + 1, weight=F("weight") + weight
        )
