from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.stats import cagr, compute_stats, drawdowns, sharpe

D = Decimal
DAY_MS = 86_400_000


def test_drawdown_is_the_fall_from_the_running_peak() -> None:
    assert drawdowns([D(100), D(120), D(90), D(130), D(117)]) == [0, 0, D("0.25"), 0, D("0.1")]


def test_doubling_in_one_year_is_a_cagr_of_100_percent() -> None:
    year_ms = int(365.25 * DAY_MS)
    one_year = cagr([D(100), D(200)], [0, year_ms])
    two_years = cagr([D(100), D(400)], [0, 2 * year_ms])
    assert one_year is not None and round(one_year, 12) == 1
    assert two_years is not None and round(two_years, 12) == 1


def test_cagr_needs_a_duration_and_a_wipe_out_is_minus_one() -> None:
    assert cagr([D(100), D(200)], [5, 5]) is None
    assert cagr([D(100), D(0)], [0, DAY_MS]) == -1


def test_sharpe_is_mean_over_deviation_annualised() -> None:
    equity = [D(100), D(110), D(99), D(108.9)]
    returns = [D("0.1"), D("-0.1"), D("0.1")]
    mean = sum(returns, D(0)) / 3
    deviation = (sum(((r - mean) ** 2 for r in returns), D(0)) / 2).sqrt()
    periods = D(repr(365.25 * 6)).sqrt()
    assert round(sharpe(equity, "4h"), 10) == round(mean / deviation * periods, 10)


def test_sharpe_of_a_curve_that_never_varies_is_zero() -> None:
    assert sharpe([D(100)] * 5, "4h") == 0
    assert sharpe([D(100), D(101)], "4h") == 0


def test_without_sells_there_is_no_win_rate() -> None:
    stats = compute_stats(
        equity=[D(100), D(100)], times_ms=[0, DAY_MS], invested=[D(0), D(50)],
        sell_pnls=[], trades=1, timeframe="1d",
    )  # fmt: skip
    assert stats.win_rate is None and stats.exposure == D("0.25")


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="one length"):
        compute_stats(
            equity=[D(1)], times_ms=[], invested=[D(0)], sell_pnls=[], trades=0, timeframe="4h"
        )
