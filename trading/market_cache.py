"""Exchange data every process shares: the clock offset.

The clock offset to the exchange (ccxt ``options['timeDifference']``) is
measured once per machine and hour and kept in the shared Django cache (Redis
in production, the database cache embedded), so signed requests are not
refused with -1021 and no task asks for the time again.

Every request made here goes through ``trading.exchange_calls.request``: it is
counted in the shared weight budget and stops during a ban.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import ccxt
from django.core.cache import cache

from trading import exchange_calls

logger = logging.getLogger(__name__)

CLOCK_SECONDS = 3600  # the clock offset is measured again after this long


def _clock_key(exchange_id: str) -> str:
    # The offset is a property of this machine's clock, not of the exchange alone.
    return f"exchange-clock:{exchange_id}:{socket.gethostname()}"


def keeps_clock(client: Any, exchange_id: str) -> bool:
    """True for clients whose signed requests carry a timestamp ccxt can correct."""
    return (
        isinstance(client, ccxt.Exchange)
        and exchange_id in exchange_calls.BINANCE_LIKE
        and "timeDifference" in client.options
    )


def prepare(client: Any, exchange_id: str) -> None:
    """Give a ccxt client the shared clock offset before its first request.

    Side effects: may measure the clock offset (once per machine and hour),
    counted in the shared weight budget. Raises RateLimited or a ccxt error
    when that request cannot be made; does nothing for other clients.
    """
    if not isinstance(client, ccxt.Exchange):
        return
    if keeps_clock(client, exchange_id) and not client.options.get("oneclickClockSet"):
        sync_clock(client, exchange_id)


def sync_clock(client: Any, exchange_id: str, *, force: bool = False) -> int:
    """Set the client's offset to the exchange's clock (ms, ours minus theirs).

    Uses the offset this machine measured within the hour, unless ``force``
    (after a -1021): then it asks the exchange (``load_time_difference``,
    Binance /api/v3/time, weight 1, counted) and shares the answer.
    """
    key = _clock_key(exchange_id)
    offset = None if force else cache.get(key)
    if offset is None:
        offset = int(exchange_calls.request(client, exchange_id, "load_time_difference"))
        cache.set(key, offset, CLOCK_SECONDS)
        if abs(offset) > 1000:
            logger.warning("Clock is %d ms off %s's; requests are corrected", offset, exchange_id)
    client.options["timeDifference"] = offset
    client.options["oneclickClockSet"] = True
    return offset


def forget(exchange_id: str) -> None:
    """Drop what every process shares about ``exchange_id`` (tests, a listing change)."""
    cache.delete(_clock_key(exchange_id))
