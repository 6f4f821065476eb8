from __future__ import annotations

from datetime import UTC, datetime

import pytest

from strategies.timeframes import (
    UnknownTimeframe,
    from_ms,
    is_aligned,
    last_closed,
    period_start,
    seconds_of,
    to_ms,
)


def test_a_time_falls_in_the_period_that_opened_at_its_4h_edge() -> None:
    when = datetime(2025, 3, 10, 11, 59, 59, tzinfo=UTC)
    assert period_start(when, "4h") == datetime(2025, 3, 10, 8, tzinfo=UTC)


def test_the_last_closed_candle_is_the_one_before_the_current_period() -> None:
    when = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    assert last_closed(when, "4h") == datetime(2025, 3, 10, 8, tzinfo=UTC)
    assert last_closed(when, "1d") == datetime(2025, 3, 9, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        period_start(datetime(2025, 1, 1), "4h")  # noqa: DTZ001 - the point of the test


def test_an_unknown_timeframe_names_the_known_ones() -> None:
    with pytest.raises(UnknownTimeframe, match="4h"):
        seconds_of("3h")


def test_milliseconds_round_trip_as_aware_utc() -> None:
    when = datetime(2024, 1, 1, 4, tzinfo=UTC)
    assert to_ms(when) == 1_704_081_600_000
    assert from_ms(to_ms(when)) == when
    assert is_aligned(when, "4h") and not is_aligned(when, "1d")
