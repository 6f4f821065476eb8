from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from strategies.engine import decide_latest
from strategies.library.mean_reversion import MeanReversion
from strategies.tests.factories import NO_RISK, series_from_closes
from strategies.tests.markets import downtrend, flat, uptrend


def test_it_buys_part_of_the_allocation_after_a_clear_fall() -> None:
    decision = decide_latest(MeanReversion(NO_RISK), series_from_closes(downtrend()))
    assert decision.action == "target"  # held as an exposure target by the overlay
    assert decision.fraction == Decimal("0.5000")
    assert decision.confidence == Decimal("1.0000")  # RSI 0: as oversold as it gets


def test_it_sells_a_clear_rally() -> None:
    decision = decide_latest(MeanReversion(NO_RISK), series_from_closes(uptrend()))
    assert decision.action == "sell"
    assert decision.fraction == Decimal("1.0000")


def test_it_holds_in_a_flat_market() -> None:
    decision = decide_latest(MeanReversion(NO_RISK), series_from_closes(flat()))
    assert decision.action == "hold"


def test_a_close_below_the_lower_band_is_oversold_even_with_a_middling_rsi() -> None:
    model = MeanReversion(NO_RISK)
    decision = model.decide(np.array([-2.5, 45.0]))
    assert decision.action == "buy"
    # Half a band-width beyond the band: halfway from 0.5 to full confidence.
    assert decision.confidence == Decimal("0.6250")


def test_signs_of_both_extremes_at_once_mean_hold() -> None:
    assert MeanReversion(NO_RISK).decide(np.array([-2.5, 80.0])).action == "hold"


def test_warm_up_rows_hold() -> None:
    assert MeanReversion(NO_RISK).decide(np.array([np.nan, 20.0])).action == "hold"


def test_overbought_must_sit_above_oversold() -> None:
    with pytest.raises(ValueError, match="between"):
        MeanReversion({**NO_RISK, "overbought": 40})
