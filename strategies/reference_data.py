"""Real market history shipped with the project (``strategies/data``) and read from dumps.

Files are Binance kline dumps named ``SYMBOL-TF.csv`` (optionally gzipped),
parsed by the importer's own parser (``csv_import.parse_file``).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from strategies.csv_import import parse_file
from strategies.series import CandleSeries
from strategies.timeframes import TIMEFRAME_SECONDS, from_ms, seconds_of

SHIPPED = Path(__file__).resolve().parent / "data"
NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<tf>\d+[mhdwM])\.csv(\.gz)?$")


def default_data_dirs() -> list[Path]:
    beside_clone = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return [path for path in (SHIPPED, beside_clone) if path.is_dir()]


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def read_series(path: Path) -> CandleSeries:
    match = NAME.match(path.name)
    if match is None:
        raise ValueError(f"{path.name} is not named SYMBOL-TF.csv")
    timeframe = match["tf"]
    rows = parse_file(_lines(path), timeframe=timeframe).rows
    return CandleSeries.from_rows(
        timeframe, [(r.open_time, r.open, r.high, r.low, r.close, r.volume) for r in rows]
    )


def resample(series: CandleSeries, timeframe: str) -> CandleSeries:
    """Candles of a longer ``timeframe`` built from complete groups of ``series``' ones
    (a group with a missing candle is left out rather than invented)."""
    width = seconds_of(timeframe) * 1000
    per = width // (seconds_of(series.timeframe) * 1000)
    buckets = series.open_ms // width
    rows = []
    i = 0
    while i < len(series):
        j = i
        while j < len(series) and buckets[j] == buckets[i]:
            j += 1
        if j - i == per:
            rows.append(
                (
                    from_ms(int(buckets[i] * width)),
                    series.open_exact[i],
                    Decimal(repr(float(series.high[i:j].max()))),
                    Decimal(repr(float(series.low[i:j].min()))),
                    series.close_exact[j - 1],
                    Decimal(repr(float(series.volume[i:j].sum()))),
                )
            )
        i = j
    return CandleSeries.from_rows(timeframe, rows)


def load_series_files(
    folders: Iterable[Path], *, timeframe: str = "4h"
) -> list[tuple[str, CandleSeries]]:
    """(``SYMBOL TF``, series) of each market in ``folders`` at ``timeframe``: its own
    dump at that timeframe when there is one, else built from a shorter one.
    The first folder holding a market wins."""
    found: dict[str, dict[str, Path]] = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            match = NAME.match(path.name)
            if match is not None:
                found.setdefault(match["symbol"], {}).setdefault(match["tf"], path)
    target = seconds_of(timeframe)
    out = []
    for symbol, files in sorted(found.items()):
        if timeframe in files:
            out.append((f"{symbol} {timeframe}", read_series(files[timeframe])))
            continue
        shorter = [tf for tf in files if tf in TIMEFRAME_SECONDS and target % seconds_of(tf) == 0]
        if shorter:
            source = max(shorter, key=seconds_of)
            series = resample(read_series(files[source]), timeframe)
            out.append((f"{symbol} {timeframe} (from {source})", series))
    return out
