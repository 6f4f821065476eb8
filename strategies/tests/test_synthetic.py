from __future__ import annotations

from itertools import pairwise

from strategies.synthetic import synthetic_rows
from strategies.timeframes import step


def test_the_synthetic_market_is_the_same_every_time() -> None:
    assert synthetic_rows(candles=300, seed=3) == synthetic_rows(candles=300, seed=3)
    assert synthetic_rows(candles=300, seed=3) != synthetic_rows(candles=300, seed=4)


def test_its_candles_are_consistent_and_contiguous() -> None:
    rows = synthetic_rows(candles=2000, seed=1)
    for (t0, *_), (t1, o, h, low, c, v) in pairwise(rows):
        assert t1 - t0 == step("4h")
        assert 0 < low <= min(o, c) and h >= max(o, c) and v > 0
    assert all(rows[i + 1][1] == rows[i][4] for i in range(len(rows) - 1))
