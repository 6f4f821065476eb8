"""History from CSV files laid out like Binance's public kline dumps.

Columns: open time, open, high, low, close, volume, close time, then optionally
quote volume, trade count, taker buy base volume, taker buy quote volume and an
ignored field. Times are epoch milliseconds, or microseconds (Binance's spot
files since 2025), one unit per file; a header line is allowed. The open time
defines the candle: a close time before the candle's end is Binance marking a
candle cut short by maintenance, and is accepted. Every row of every file is
checked before anything is stored, and an import with any bad row stores nothing.

Sources: one CSV file, a folder of them, or a zip of monthly dumps (Binance's
own ``BTCUSDT-4h-2024-01.zip`` files, or one zip holding many CSVs).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from strategies.gaps import GapReport, gaps_refresh
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
# BTCUSDT-4h.csv, BTCUSDT-4h-2024-01.csv (monthly), BTCUSDT-4h-2024-01-31.csv (daily) …
FILENAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<timeframe>\d+[mhdw])(?:-[^/]*)?\.(?i:csv|zip)$")
UNIT_NAMES = {1: "milliseconds", 1000: "microseconds"}
# What the candle table's columns hold (strategies.models.Candle: 40 and 30 characters).
EXCHANGE_ID = re.compile(r"^[a-z0-9_.-]{1,40}$")
MARKET = re.compile(r"^(?=.{3,30}$)[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$")
# A zip member is read whole: one larger than this is refused before it is unpacked
# (a month of Binance's 1-second candles unpacks to about 250 MB).
MAX_MEMBER_BYTES = 512 * 1024 * 1024
# What one zip (with the zips inside it) may unpack to in all: members are held in
# memory until checked, so many members each under the limit must not add up unbounded.
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024
# A zip of monthly zips is two levels; deeper is not a kline dump (or is a zip quine).
MAX_ZIP_DEPTH = 3
# Compression methods Python's zipfile unpacks: stored, deflate, bzip2, lzma.
ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


class CandleImportError(Exception):
    """The file has bad rows; ``problems`` name each with its line number."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:REPORTED_PROBLEMS]
        more = len(problems) - len(shown)
        message = "\n".join(shown) + (f"\n… and {more} more" if more else "")
        super().__init__(message)


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


def _epoch(text: str, what: str) -> tuple[int, int]:
    """The raw time, and its unit: how many of the file's ticks make a millisecond."""
    if not text.strip().isdigit():
        raise ValueError(f"{what} {text!r} is not an epoch time")
    value = int(text)
    if value >= 10**14:
        return value, 1000
    if value >= 10**11:
        return value, 1
    raise ValueError(f"{what} {text!r} is not an epoch time in milliseconds or microseconds")


@dataclass
class _FileState:
    """What earlier lines of a file said: its time unit, and the first line to say it."""

    unit: int | None = None
    unit_line: int = 0
    shortened: int = 0


def _parse_row(fields: list[str], timeframe: str, number: int, state: _FileState) -> CandleRow:
    if not MIN_COLUMNS <= len(fields) <= MAX_COLUMNS:
        raise ValueError(f"expected {MIN_COLUMNS} to {MAX_COLUMNS} columns, found {len(fields)}")
    open_raw, unit = _epoch(fields[0], "open time")
    if state.unit is None:
        state.unit, state.unit_line = unit, number
    elif unit != state.unit:
        raise ValueError(
            f"open time {fields[0].strip()} is in {UNIT_NAMES[unit]} but line {state.unit_line} "
            f"is in {UNIT_NAMES[state.unit]}: one file must use one time unit"
        )
    if open_raw % unit:
        raise ValueError(f"open time {fields[0].strip()} is not on a millisecond")
    close_raw, close_unit = _epoch(fields[6], "close time")
    if close_unit != unit:
        raise ValueError(
            f"close time {fields[6].strip()} is in {UNIT_NAMES[close_unit]} but its open time "
            f"is in {UNIT_NAMES[unit]}"
        )
    # The open time defines the candle. Its close time is its last tick (open + width
    # - 1 tick), or earlier when Binance cut the candle short for maintenance.
    end = open_raw + seconds_of(timeframe) * 1000 * unit - 1
    if not open_raw <= close_raw <= end:
        raise ValueError(
            f"close time {close_raw} does not end a {timeframe} candle opened at {open_raw}"
        )
    if close_raw < end:
        state.shortened += 1
    values = {}
    for name, text in zip(("open", "high", "low", "close", "volume"), fields[1:6], strict=True):
        try:
            value = to_decimal(text.strip())
        except ValueError:
            raise ValueError(f"{name} {text!r} is not a number") from None
        if value != value.quantize(DECIMAL_PLACES):
            raise ValueError(f"{name} {text!r} has more than 12 decimal places")
        values[name] = value
    row = CandleRow(open_time=from_ms(open_raw // unit), **values)
    problems = ohlcv_problems(row, timeframe)
    if problems:
        raise ValueError("; ".join(problems))
    return row


def _is_header(fields: list[str]) -> bool:
    return bool(fields) and not fields[0].strip().isdigit() and "open" in fields[0].lower()


@dataclass(frozen=True)
class ParsedFile:
    rows: list[CandleRow]
    shortened: int


def parse_file(lines: Iterable[str], *, timeframe: str) -> ParsedFile:
    """Every row checked; CandleImportError lists each bad one by line number."""
    seconds_of(timeframe)  # an unknown timeframe fails before any row
    rows: list[CandleRow] = []
    problems: list[str] = []
    first_line: dict[int, int] = {}
    state = _FileState()
    # Strict, so an unclosed quote is an error instead of swallowing the lines after it;
    # a row is named by the file line it starts on (a quoted field may span lines).
    reader = csv.reader(lines, strict=True)
    for number, fields in _records(reader):
        if isinstance(fields, csv.Error):
            problems.append(f"line {number}: {fields}")
            continue
        if not fields or all(not field.strip() for field in fields):
            continue
        if number == 1 and _is_header(fields):
            continue
        try:
            row = _parse_row(fields, timeframe, number, state)
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
    return ParsedFile(rows=rows, shortened=state.shortened)


def _records(reader: Any) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(the file line each record starts on, its fields or the csv error it raised)."""
    last = 0
    while True:
        try:
            fields: list[str] | csv.Error = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv's size limit, an unclosed quote …
            unclosed = "unexpected end of data" in str(exc)
            fields = csv.Error("a quote opened on this line is never closed") if unclosed else exc
        yield last + 1, fields
        if reader.line_num == last:  # nothing more was read: stop rather than loop
            return
        last = reader.line_num


def parse_klines(lines: Iterable[str], *, timeframe: str) -> list[CandleRow]:
    return parse_file(lines, timeframe=timeframe).rows


@dataclass(frozen=True)
class Source:
    """One CSV to read: a file, or a member of a zip (``name`` is its own file name)."""

    name: str
    where: str
    read: Callable[[], bytes]

    def lines(self) -> Iterator[str]:
        # utf-8-sig: a file saved by a spreadsheet starts with a byte order mark.
        return iter(io.StringIO(self.read().decode("utf-8-sig"), newline=""))


def _constant(content: bytes) -> Callable[[], bytes]:
    return lambda: content


@dataclass
class _Unpacked:
    """Bytes unpacked so far from one zip and the zips inside it."""

    where: str
    total: int = 0

    def charge(self, size: int) -> None:
        self.total += size
        if self.total > MAX_UNPACKED_BYTES:
            raise CandleImportError(
                [f"{self.where}: unpacks to more than {MAX_UNPACKED_BYTES} bytes in all; "
                 "import it in parts"]
            )  # fmt: skip


def _member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, unpacked: _Unpacked
) -> bytes:
    """A member's bytes; CandleImportError naming it when it cannot or must not be read."""
    if info.flag_bits & 0x1:
        raise CandleImportError([f"{label}: encrypted; unpack it with its password first"])
    if info.compress_type not in ZIP_METHODS:
        raise CandleImportError(
            [
                f"{label}: packed with a compression method that cannot be read ({info.compress_type})"
            ]
        )
    if info.file_size > MAX_MEMBER_BYTES:
        raise CandleImportError(
            [f"{label}: unpacks to {info.file_size} bytes, larger than {MAX_MEMBER_BYTES}"]
        )
    unpacked.charge(info.file_size)  # declared sizes bound what zipfile unpacks
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise CandleImportError([f"{label}: damaged ({exc})"]) from None


def _zip_sources(
    data: Callable[[], bytes], where: str, depth: int = 1, unpacked: _Unpacked | None = None
) -> list[Source]:
    unpacked = unpacked or _Unpacked(where)
    if depth > MAX_ZIP_DEPTH:
        raise CandleImportError(
            [f"{where}: zips nested more than {MAX_ZIP_DEPTH} deep; unpack the outer ones"]
        )
    with zipfile.ZipFile(io.BytesIO(data())) as archive:
        infos = sorted((i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename)
        contents = {
            i.filename: _member(archive, i, f"{where}:{i.filename}", unpacked)
            for i in infos
            if i.filename.lower().endswith((".csv", ".zip"))
        }
    sources: list[Source] = []
    for name, content in contents.items():
        label = f"{where}:{name}"
        if name.lower().endswith(".zip"):
            sources += _zip_sources(_constant(content), label, depth + 1, unpacked)
        else:
            sources.append(Source(Path(name).name, label, _constant(content)))
    return sources


def sources_of(path: Path) -> list[Source]:
    """The CSVs at ``path``: the file itself, a folder's CSV and zip files, a zip's CSVs.

    Raises OSError when the path cannot be read and CandleImportError when it
    holds no CSV; a damaged zip raises zipfile.BadZipFile (a ValueError).
    """
    if path.is_dir():
        # Its files only: a folder named like a file, or a link back to a parent
        # (which would recurse forever), is not read.
        entries = sorted(
            p for p in path.iterdir() if p.suffix.lower() in (".csv", ".zip") and p.is_file()
        )
        sources = [s for entry in entries for s in sources_of(entry)]
    elif path.suffix.lower() == ".zip":
        sources = _zip_sources(path.read_bytes, str(path))
    else:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        sources = [Source(path.name, str(path), path.read_bytes)]
    if not sources:
        raise CandleImportError([f"{path}: no CSV file in it"])
    return sources


@dataclass(frozen=True)
class ImportResult:
    market: str
    timeframe: str
    files: int
    rows: int
    added: int
    shortened: int = 0
    gaps: GapReport = field(default_factory=lambda: GapReport(()))

    @property
    def already_stored(self) -> int:
        return self.rows - self.added


@dataclass
class _Group:
    files: int = 0
    shortened: int = 0
    rows: dict[int, CandleRow] = field(default_factory=dict)
    seen_in: dict[int, str] = field(default_factory=dict)


def import_sources(
    sources: list[Source],
    *,
    exchange_id: str,
    market: str | None = None,
    timeframe: str | None = None,
    on_file: Callable[[int, int, Source], None] | None = None,
) -> list[ImportResult]:
    """Check every row of every source, then store them all; on any problem, none.

    Market and timeframe come from each file's name (``BTCUSDT-4h-2024-01.csv``)
    unless given. Files of the same market may overlap (a daily dump inside a
    monthly one) where they agree. After storing, the gaps of each market's
    stored history over the imported stretch are recorded and returned.
    Raises CandleImportError naming each bad file and line; ``on_file`` hears
    of each file as it is checked.
    """
    groups: dict[tuple[str, str], _Group] = {}
    problems: list[str] = []
    if not EXCHANGE_ID.match(exchange_id):
        raise CandleImportError(
            [f"{exchange_id[:50]!r} is not an exchange id (like binance; at most 40 characters)"]
        )
    if market is not None and not MARKET.match(market):
        raise CandleImportError(
            [f"{market[:50]!r} is not a market like BTC/USDT (at most 30 characters)"]
        )
    for number, source in enumerate(sources, start=1):
        if on_file is not None:
            on_file(number, len(sources), source)
        guessed_market, guessed_timeframe = guess_from_filename(Path(source.name))
        key = (market or guessed_market, timeframe or guessed_timeframe)
        if key[0] is None or key[1] is None or not MARKET.match(key[0]):
            problems.append(
                f"{source.name}: cannot tell the market and timeframe from the name; "
                "pass --market and --timeframe"
            )
            continue
        try:
            parsed = parse_file(source.lines(), timeframe=key[1])
        except CandleImportError as exc:
            # One file: its lines are named as they are; several: each with its file.
            named = len(sources) > 1
            problems += [f"{source.name} {p}" if named else p for p in exc.problems]
            continue
        except UnicodeDecodeError as exc:
            problems.append(f"{source.name}: not a text file ({exc.reason})")
            continue
        group = groups.setdefault((key[0], key[1]), _Group())
        group.files += 1
        group.shortened += parsed.shortened
        for row in parsed.rows:
            moment = int(row.open_time.timestamp())
            earlier = group.rows.get(moment)
            if earlier is None:
                group.rows[moment], group.seen_in[moment] = row, source.name
            elif earlier != row:
                problems.append(
                    f"{source.name}: the candle at {row.open_time:%Y-%m-%d %H:%M} differs "
                    f"from the one in {group.seen_in[moment]}"
                )
    if problems:
        raise CandleImportError(problems)
    results = []
    with transaction.atomic():
        for (group_market, group_timeframe), group in groups.items():
            rows = sorted(group.rows.values(), key=lambda row: row.open_time)
            added = candles_store(
                rows, exchange_id=exchange_id, market=group_market, timeframe=group_timeframe
            )
            report = gaps_refresh(
                exchange_id=exchange_id,
                market=group_market,
                timeframe=group_timeframe,
                first=rows[0].open_time,
                last=rows[-1].open_time,
            )
            results.append(
                ImportResult(
                    market=group_market,
                    timeframe=group_timeframe,
                    files=group.files,
                    rows=len(rows),
                    added=added,
                    shortened=group.shortened,
                    gaps=report,
                )
            )
    return results


def import_candles(path: Path, *, exchange_id: str, market: str, timeframe: str) -> ImportResult:
    """Store the candles of a kline CSV file; all of them or, on any bad row, none.

    Candles already stored are kept as they are. Raises CandleImportError
    (``problems`` with line numbers) and OSError for an unreadable file.
    """
    [result] = import_sources(
        [Source(path.name, str(path), path.read_bytes)],
        exchange_id=exchange_id,
        market=market,
        timeframe=timeframe,
    )
    return result
