"""Candles: fetched through the exchange door, stored once, read back as series.

Only closed candles are stored: the still-open one would change under a
decision made on it. Fetching goes through ccxt-shaped calls only
(``fetch_ohlcv(symbol, timeframe, since, limit)``), page by page, so the paper
exchange and a real exchange behave the same; real clients come from
``strategies.hooks.public_client`` (vault's keyless client, with ccxt's rate
limiter on).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from strategies.gaps import (
    Gap,
    gaps_refresh,
    leading_gap_remember,
    missing_inside,
    permanent_gaps,
)
from strategies.hooks import public_client
from strategies.models import PRICE_DIGITS, PRICE_PLACES, Candle, CandleGap
from strategies.series import CandleSeries
from strategies.timeframes import from_ms, seconds_of, step, to_ms

PAGE_SIZE = 1000  # Binance's klines maximum; ccxt pages no further for us
DECIMAL_PLACES = Decimal(1).scaleb(-PRICE_PLACES)
MAX_INTEGER_DIGITS = PRICE_DIGITS - PRICE_PLACES


class MarketDataError(Exception):
    """The exchange returned candles we cannot trust (or none at all)."""


@dataclass(frozen=True)
class CandleRow:
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def as_model(self, *, exchange_id: str, market: str, timeframe: str) -> Candle:
        return Candle(
            exchange_id=exchange_id,
            market=market,
            timeframe=timeframe,
            open_time=self.open_time,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
        )


def to_decimal(value: object) -> Decimal:
    """A finite Decimal from a number or numeric string; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    try:
        number = Decimal(value if isinstance(value, str) else str(value))
    except (InvalidOperation, TypeError):
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def ohlcv_problems(row: CandleRow, timeframe: str) -> list[str]:
    """What is wrong with a candle; empty when it can be stored."""
    problems = []
    if row.open_time.timestamp() % seconds_of(timeframe):
        problems.append(f"open time {row.open_time:%Y-%m-%d %H:%M:%S} is not on a {timeframe} edge")
    for name in ("open", "high", "low", "close", "volume"):
        value: Decimal = getattr(row, name)
        if value.adjusted() >= MAX_INTEGER_DIGITS:
            problems.append(f"{name} {value} is too large")
    if min(row.open, row.high, row.low, row.close) <= 0:
        problems.append("prices must be positive")
    if row.volume < 0:
        problems.append("volume must not be negative")
    if row.low > min(row.open, row.close) or row.high < max(row.open, row.close):
        problems.append("low/high do not contain open and close")
    return problems


def _exact(value: object) -> Decimal:
    return to_decimal(value).quantize(DECIMAL_PLACES)


def row_from_ccxt(candle: Sequence[Any]) -> CandleRow:
    """``[ms, open, high, low, close, volume]`` as ccxt returns it."""
    if len(candle) < 6 or candle[0] is None:
        raise MarketDataError(f"malformed candle {list(candle)[:6]!r}")
    try:
        return CandleRow(
            open_time=from_ms(int(candle[0])),
            open=_exact(candle[1]),
            high=_exact(candle[2]),
            low=_exact(candle[3]),
            close=_exact(candle[4]),
            volume=_exact(candle[5]),
        )
    except (ValueError, TypeError) as exc:
        raise MarketDataError(f"malformed candle {list(candle)[:6]!r}: {exc}") from None


def candles_store(
    rows: Sequence[CandleRow], *, exchange_id: str, market: str, timeframe: str
) -> int:
    """Insert candles not stored yet (a stored candle is never rewritten); returns how many."""
    if not rows:
        return 0
    key = {"exchange_id": exchange_id, "market": market, "timeframe": timeframe}
    times = [row.open_time for row in rows]
    with transaction.atomic():
        before = Candle.objects.filter(
            **key, open_time__gte=min(times), open_time__lte=max(times)
        ).count()
        Candle.objects.bulk_create(
            [row.as_model(**key) for row in rows], ignore_conflicts=True, batch_size=1000
        )
        after = Candle.objects.filter(
            **key, open_time__gte=min(times), open_time__lte=max(times)
        ).count()
    return after - before


def _resume_from(
    *, exchange_id: str, market: str, timeframe: str, start: datetime, end: datetime
) -> datetime | None:
    """Where fetching must start so that [start, end] is covered; None if it is.

    Windows the exchange is known never to fill (``CandleGap.permanent``) do
    not count as missing: without this, one maintenance halt inside the range
    would have the whole range fetched again on every run.
    """
    width = step(timeframe)
    known = permanent_gaps(
        exchange_id=exchange_id, market=market, timeframe=timeframe, first=start, last=end
    )
    for gap in known:  # oldest first: a leading hole the exchange has no candles for
        if gap.first_missing <= start <= gap.last_missing:
            start = gap.last_missing + width
    if start > end:
        return None
    found = Candle.objects.filter(
        exchange_id=exchange_id,
        market=market,
        timeframe=timeframe,
        open_time__gte=start,
        open_time__lte=end,
    ).aggregate(first=Min("open_time"), last=Max("open_time"), count=Count("id"))
    first, last, count = found["first"], found["last"], found["count"]
    if first is None or first > start:
        return start
    expected = (last - first) // width + 1 - missing_inside(known, first, last, width)
    if count < expected:
        return start  # a hole inside: fetch the range again, stored candles are kept
    return None if last >= end else last + width


def _skipped(rows: Sequence[CandleRow], cursor: datetime, width: timedelta) -> list[Gap]:
    """Windows the exchange left out of a page asked for from ``cursor``."""
    skipped = []
    expected = cursor
    for row in rows:
        if row.open_time > expected:
            skipped.append(
                Gap(expected, row.open_time - width, (row.open_time - expected) // width)
            )
        expected = row.open_time + width
    return skipped


def candles_sync(
    *,
    exchange_id: str,
    market: str,
    timeframe: str,
    start: datetime,
    end: datetime,
    client: Any = None,
    on_page: Callable[[datetime], None] | None = None,
) -> int:
    """Fetch the closed candles with open times in [start, end] that are not stored yet.

    ``end`` must be the open time of a closed candle (see ``timeframes.last_closed``).
    Only what is missing is asked for: after the last stored candle, or the whole
    range when its beginning or a candle inside it is missing. Each page is stored
    as it arrives, so an interrupted sync resumes where it stopped. Windows the
    exchange skips in its answer are remembered as permanent gaps
    (``strategies.gaps``), and not asked for again.

    Raises MarketDataError for a malformed or inconsistent candle, and whatever
    ccxt raises (NetworkError, ExchangeError, BadSymbol …) for the request itself.
    Returns how many candles were added.
    """
    key = {"exchange_id": exchange_id, "market": market, "timeframe": timeframe}
    cursor = _resume_from(**key, start=start, end=end)
    if cursor is None:
        return 0
    exchange = client if client is not None else public_client(exchange_id)
    width = step(timeframe)
    # An exchange that ignores `since` would otherwise keep us here for ever.
    pages_left = math.ceil(((end - cursor) // width + 1) / PAGE_SIZE) + 3
    added = 0
    skipped: list[Gap] = []
    fetched_from = cursor
    while cursor <= end and pages_left > 0:
        pages_left -= 1
        page = exchange.fetch_ohlcv(market, timeframe, since=to_ms(cursor), limit=PAGE_SIZE)
        rows = [row_from_ccxt(candle) for candle in page or []]
        # Our clock as a second check on ``end``: a candle still open somewhere (a
        # clock running ahead, a run right at the edge) would be stored half-made.
        closed_by = timezone.now()
        wanted = sorted(
            (
                row
                for row in rows
                if cursor <= row.open_time <= end and row.open_time + width <= closed_by
            ),
            key=lambda row: row.open_time,
        )
        for row in wanted:
            problems = ohlcv_problems(row, timeframe)
            if problems:
                raise MarketDataError(
                    f"{exchange_id} {market} {timeframe} candle at {row.open_time:%Y-%m-%d %H:%M}: "
                    + "; ".join(problems)
                )
        added += candles_store(wanted, **key)
        if not wanted:
            break
        skipped += _skipped(wanted, cursor, width)
        cursor = wanted[-1].open_time + width
        if on_page is not None:
            on_page(cursor)
    recorded = CandleGap.objects.filter(
        **key, first_missing__lte=end, last_missing__gte=fetched_from
    )
    if skipped or (added and recorded.exists()):
        _gaps_update(key, skipped, fetched_from=fetched_from, end=end)
    return added


def _gaps_update(
    key: dict[str, str], skipped: list[Gap], *, fetched_from: datetime, end: datetime
) -> None:
    """Gaps the exchange confirmed become permanent; those it filled go."""
    stored_before = Candle.objects.filter(**key, open_time__lt=fetched_from).exists()
    leading = skipped[0] if skipped else None
    if leading is not None and leading.first_missing == fetched_from and not stored_before:
        # Nothing before, nothing from the exchange until later: the market's history
        # starts there (or the exchange lost it). Either way, never there to fetch.
        leading_gap_remember(**key, gap=leading)
    gaps_refresh(**key, first=fetched_from, last=end, skipped=skipped)


def candle_series(
    *,
    exchange_id: str,
    market: str,
    timeframe: str,
    until: datetime,
    count: int | None = None,
    since: datetime | None = None,
) -> CandleSeries:
    """Stored candles opening at or before ``until`` (the newest ``count``, or from ``since``)."""
    candles = Candle.objects.filter(
        exchange_id=exchange_id, market=market, timeframe=timeframe, open_time__lte=until
    )
    if since is not None:
        candles = candles.filter(open_time__gte=since)
    fields = ("open_time", "open", "high", "low", "close", "volume")
    if count is not None:
        rows = list(candles.order_by("-open_time").values_list(*fields)[:count])
        rows.reverse()
    else:
        rows = list(candles.order_by("open_time").values_list(*fields))
    return CandleSeries.from_rows(timeframe, rows)


def recent_series(
    *,
    exchange_id: str,
    market: str,
    timeframe: str,
    until: datetime,
    count: int,
    client: Any = None,
) -> CandleSeries:
    """The ``count`` closed candles opening at or before ``until``, fetched first where missing.

    What a live decision or fit reads. Side effects and errors: ``candles_sync``'s.
    """
    candles_sync(
        exchange_id=exchange_id,
        market=market,
        timeframe=timeframe,
        start=until - (count - 1) * step(timeframe),
        end=until,
        client=client,
    )
    return candle_series(
        exchange_id=exchange_id, market=market, timeframe=timeframe, until=until, count=count
    )
