from __future__ import annotations

from decimal import Decimal

from strategies.series import CandleSeries
from strategies.tests.factories import START, rows_from_closes


def test_a_series_keeps_exact_prices_for_money_and_floats_for_features() -> None:
    series = CandleSeries.from_rows("4h", rows_from_closes([100.1, 100.2, 100.3]))
    assert series.close_exact == (Decimal("100.1"), Decimal("100.2"), Decimal("100.3"))
    assert series.close.tolist() == [100.1, 100.2, 100.3]
    assert series.open_time(0) == START


def test_the_head_of_a_series_is_the_history_known_at_that_candle() -> None:
    series = CandleSeries.from_rows("4h", rows_from_closes([1.0, 2.0, 3.0, 4.0]))
    head = series.head(2)
    assert len(head) == 2 and head.close_exact[-1] == Decimal("2.0")
    assert head.open_time(-1) == series.open_time(1)


def test_an_empty_series_has_no_candles() -> None:
    assert len(CandleSeries.from_rows("4h", [])) == 0
