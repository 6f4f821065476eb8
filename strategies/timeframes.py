"""Timeframes as exchanges name them, and the period arithmetic built on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14_400,
    "6h": 21_600,
    "8h": 28_800,
    "12h": 43_200,
    "1d": 86_400,
}
YEAR_SECONDS = 365.25 * 86_400


class UnknownTimeframe(ValueError):
    pass


def seconds_of(timeframe: str) -> int:
    try:
        return TIMEFRAME_SECONDS[timeframe]
    except KeyError:
        raise UnknownTimeframe(
            f"Unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAME_SECONDS)}."
        ) from None


def step(timeframe: str) -> timedelta:
    return timedelta(seconds=seconds_of(timeframe))


def to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def period_start(when: datetime, timeframe: str) -> datetime:
    """Open time of the candle that contains ``when`` (periods align to the epoch, UTC)."""
    if when.tzinfo is None:
        raise ValueError("period_start needs an aware datetime")
    width = seconds_of(timeframe)
    return datetime.fromtimestamp(int(when.timestamp()) // width * width, tz=UTC)


def last_closed(when: datetime, timeframe: str) -> datetime:
    """Open time of the newest candle that had closed at ``when``."""
    return period_start(when, timeframe) - step(timeframe)


def is_aligned(when: datetime, timeframe: str) -> bool:
    return when.timestamp() % seconds_of(timeframe) == 0


def periods_per_year(timeframe: str) -> float:
    return YEAR_SECONDS / seconds_of(timeframe)


def refit_anchor(when: datetime, timeframe: str, every: int) -> datetime:
    """The newest refit time at or before ``when`` of a model refitted every ``every`` candles.

    Refit times are the open times that are multiples of ``every`` candle widths
    counted from the Unix epoch: one clock for every live run and every backtest,
    so the model deciding at a time never depends on when either of them started.
    """
    if when.tzinfo is None:
        raise ValueError("refit_anchor needs an aware datetime")
    period = seconds_of(timeframe) * every
    return datetime.fromtimestamp(int(when.timestamp()) // period * period, tz=UTC)
