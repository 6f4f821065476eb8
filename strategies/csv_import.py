"""History from CSV files laid out like Binance's public kline dumps.

Columns: open time, open, high, low, close, volume, close time, then optionally
quote volume, trade count, taker buy base volume, taker buy quote volume and an
ignored field. Times are epoch milliseconds, or microseconds (Binance's spot
files since 2025); a header line is allowed. Every row is checked before
anything is stored, and a file with any bad row stores nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from strategies.market_data import (
    DECIMAL_PLACES,
    CandleRow,
    candles_store,
    ohlcv_problems,
    to_decimal,
)
from strategies.timeframes import TIMEFRAME_SECONDS, from_ms, seconds_of

MIN_COLUMNS, MAX_COLUMNS = 7, 12
REPORTED_PROBLEMS = 50
# Quote assets to split a Binance symbol id (BTCUSDT) into a ccxt symbol (BTC/USDT).
KNOWN_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "EUR", "TRY", "BTC", "ETH", "BNB")
FILENAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<timeframe>\d+[mhdw])-")


class CandleImportError(Exception):
    """The file has bad rows; ``problems`` name each with its line number."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:REPORTED_PROBLEMS]
        more = len(problems) - len(shown)
        message = "\n".join(shown) + (f"\n… and {more} more" if more else "")
        super().__init__(message)


@dataclass(frozen=True)
class ImportResult:
    rows: int
    added: int

    @property
    def already_stored(self) -> int:
        return self.rows - self.added


def market_from_symbol_id(symbol_id: str) -> str:
    for quote in KNOWN_QUOTES:
        if symbol_id.endswith(quote) and len(symbol_id) > len(quote):
            return f"{symbol_id[: -len(quote)]}/{quote}"
    raise ValueError(f"Cannot tell the quote asset of {symbol_id!r}; pass --market.")


def guess_from_filename(path: Path) -> tuple[str | None, str | None]:
    """(market, timeframe) from a name like ``BTCUSDT-4h-2024-01.csv``, where it says."""
    match = FILENAME.match(path.name)
    if not match:
        return None, None
    timeframe = match["timeframe"] if match["timeframe"] in TIMEFRAME_SECONDS else None
    try:
        market = market_from_symbol_id(match["symbol"])
    except ValueError:
        market = None
    return market, timeframe


def _epoch_ms(text: str, what: str) -> tuple[int, int]:
    """The time in milliseconds, and how many of the file's ticks make a millisecond."""
    if not text.strip().isdigit():
        raise ValueError(f"{what} {text!r} is not an epoch time")
    value = int(text)
    if value >= 10**14:  # microseconds
        if value % 1000:
            raise ValueError(f"{what} {text!r} is not on a millisecond")
        return value // 1000, 1000
    if value >= 10**11:
        return value, 1
    raise ValueError(f"{what} {text!r} is not an epoch time in milliseconds or microseconds")


def _parse_row(fields: list[str], timeframe: str) -> CandleRow:
    if not MIN_COLUMNS <= len(fields) <= MAX_COLUMNS:
        raise ValueError(f"expected {MIN_COLUMNS} to {MAX_COLUMNS} columns, found {len(fields)}")
    open_ms, open_unit = _epoch_ms(fields[0], "open time")
    close_raw = int(fields[6]) if fields[6].strip().isdigit() else None
    if close_raw is None:
        raise ValueError(f"close time {fields[6]!r} is not an epoch time")
    # Binance's close time is the last tick of the candle: open + width - 1 tick.
    expected_close = (open_ms + seconds_of(timeframe) * 1000) * open_unit - 1
    if close_raw != expected_close:
        raise ValueError(
            f"close time {close_raw} does not end a {timeframe} candle opened at {fields[0]}"
        )
    values = {}
    for name, text in zip(("open", "high", "low", "close", "volume"), fields[1:6], strict=True):
        try:
            number = to_decimal(text.strip())
        except ValueError:
            raise ValueError(f"{name} {text!r} is not a number") from None
        if number != number.quantize(DECIMAL_PLACES):
            raise ValueError(f"{name} {text!r} has more than 12 decimal places")
        values[name] = number
    row = CandleRow(open_time=from_ms(open_ms), **values)
    problems = ohlcv_problems(row, timeframe)
    if problems:
        raise ValueError("; ".join(problems))
    return row


def _is_header(fields: list[str]) -> bool:
    return bool(fields) and not fields[0].strip().isdigit() and "open" in fields[0].lower()


def parse_klines(lines: Iterable[str], *, timeframe: str) -> list[CandleRow]:
    """Every row checked; CandleImportError lists each bad one by line number."""
    seconds_of(timeframe)  # an unknown timeframe fails before any row
    rows: list[CandleRow] = []
    problems: list[str] = []
    first_line: dict[int, int] = {}
    for number, fields in enumerate(csv.reader(lines), start=1):
        if not fields or all(not field.strip() for field in fields):
            continue
        if number == 1 and _is_header(fields):
            continue
        try:
            row = _parse_row(fields, timeframe)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        key = int(row.open_time.timestamp())
        if key in first_line:
            problems.append(f"line {number}: same open time as line {first_line[key]}")
            continue
        first_line[key] = number
        rows.append(row)
    if problems:
        raise CandleImportError(problems)
    if not rows:
        raise CandleImportError(["the file has no candles"])
    return rows


def import_candles(path: Path, *, exchange_id: str, market: str, timeframe: str) -> ImportResult:
    """Store the candles of a kline CSV file; all of them or, on any bad row, none.

    Candles already stored are kept as they are. Raises CandleImportError
    (``problems`` with line numbers) and OSError/UnicodeDecodeError for an
    unreadable file.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        rows = parse_klines(handle, timeframe=timeframe)
    rows.sort(key=lambda row: row.open_time)
    with transaction.atomic():
        added = candles_store(rows, exchange_id=exchange_id, market=market, timeframe=timeframe)
    return ImportResult(rows=len(rows), added=added)
