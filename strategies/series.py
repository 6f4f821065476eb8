"""``CandleSeries``: candles of one market as arrays, oldest first.

Features read the float arrays (indicators need no more precision than a
float has); money is computed from the Decimal opens and closes, so a backtest
adds up cents exactly as the exchange would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from strategies.timeframes import from_ms, to_ms


@dataclass(frozen=True, eq=False)
class CandleSeries:
    timeframe: str
    open_ms: np.ndarray  # int64 epoch milliseconds
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    open_exact: tuple[Decimal, ...]
    close_exact: tuple[Decimal, ...]

    @classmethod
    def from_rows(cls, timeframe: str, rows: Iterable[Sequence[object]]) -> CandleSeries:
        """From ``(open_time, open, high, low, close, volume)`` rows, oldest first."""
        materialised = [
            (row[0], *(v if isinstance(v, Decimal) else Decimal(str(v)) for v in row[1:6]))
            for row in rows
        ]
        columns = list(zip(*materialised, strict=True)) if materialised else [()] * 6
        times = columns[0]
        return cls(
            timeframe=timeframe,
            open_ms=np.array([to_ms(t) for t in times], dtype=np.int64),
            open=np.array(columns[1], dtype=np.float64),
            high=np.array(columns[2], dtype=np.float64),
            low=np.array(columns[3], dtype=np.float64),
            close=np.array(columns[4], dtype=np.float64),
            volume=np.array(columns[5], dtype=np.float64),
            open_exact=tuple(columns[1]),
            close_exact=tuple(columns[4]),
        )

    def __len__(self) -> int:
        return len(self.close)

    def head(self, count: int) -> CandleSeries:
        """The first ``count`` candles: the history as it was known at candle ``count - 1``."""
        return self.window(0, count)

    def window(self, start: int, stop: int) -> CandleSeries:
        return CandleSeries(
            timeframe=self.timeframe,
            open_ms=self.open_ms[start:stop],
            open=self.open[start:stop],
            high=self.high[start:stop],
            low=self.low[start:stop],
            close=self.close[start:stop],
            volume=self.volume[start:stop],
            open_exact=self.open_exact[start:stop],
            close_exact=self.close_exact[start:stop],
        )

    def open_time(self, index: int) -> datetime:
        return from_ms(int(self.open_ms[index]))
