"""PnL on a hand-checked sequence of fills (every figure worked out below)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from trading.pnl import (
    Book,
    FillEvent,
    OversoldError,
    apply_fill,
    equity,
    mark_to_market,
    unrealised_pnl,
)

BTC = "BTC/USDT"


def test_a_hand_checked_sequence() -> None:
    book = Book(cash=D("1000"), peak_equity=D("1000"))

    # Buy 0.01 BTC at 20,000 with a 0.20 USDT fee: cash 1000 - 200 - 0.20 = 799.80.
    apply_fill(book, FillEvent(BTC, "buy", D("0.01"), D("20000"), D("0.20"), "USDT"))
    assert book.cash == D("799.80")
    assert book.position(BTC).avg_entry == D("20000")

    # Buy 0.01 more at 22,000, fee 0.22: average (200 + 220) / 0.02 = 21,000.
    apply_fill(book, FillEvent(BTC, "buy", D("0.01"), D("22000"), D("0.22"), "USDT"))
    assert book.cash == D("579.58")
    assert book.position(BTC).amount == D("0.02")
    assert book.position(BTC).avg_entry == D("21000")

    # Price drops to 19,000: equity 579.58 + 380 = 959.58, down 40.42 from the 1000 peak.
    drawdown = mark_to_market(book, {BTC: D("19000")})
    assert equity(book, {BTC: D("19000")}) == D("959.58")
    assert drawdown == D("0.04042")
    assert unrealised_pnl(book, {BTC: D("19000")}) == D("-40")

    # Sell 0.015 at 25,000, fee 0.375: realised (25000 - 21000) * 0.015 = 60.
    apply_fill(book, FillEvent(BTC, "sell", D("0.015"), D("25000"), D("0.375"), "USDT"))
    assert book.realised_pnl == D("60")
    assert book.cash == D("579.58") + D("375") - D("0.375")  # 954.205
    assert book.position(BTC).avg_entry == D("21000")  # selling leaves the average

    # At 25,000: equity 954.205 + 0.005 * 25000 = 1079.205, a new peak.
    assert mark_to_market(book, {BTC: D("25000")}) == 0
    assert book.peak_equity == D("1079.205")
    assert book.fees_paid == D("0.795")
    assert book.max_drawdown == D("0.04042")  # the deepest fall is remembered

    # Sell the rest at 24,000, no fee: realised 60 + (24000 - 21000) * 0.005 = 75.
    apply_fill(book, FillEvent(BTC, "sell", D("0.005"), D("24000")))
    assert book.realised_pnl == D("75")
    assert book.position(BTC).amount == 0 and book.position(BTC).avg_entry == 0
    # Net result: 1074.205 - 1000 = realised 75 - fees 0.795.
    assert book.cash - D("1000") == book.realised_pnl - book.fees_paid


def test_a_fee_taken_in_the_base_currency_reduces_what_was_received() -> None:
    book = Book(cash=D("1000"))
    apply_fill(book, FillEvent(BTC, "buy", D("0.01"), D("20000"), D("0.00001"), "BTC"))
    assert book.position(BTC).amount == D("0.00999")
    assert book.cash == D("800")
    assert book.fees_paid == D("0.2")  # 0.00001 BTC at 20,000


def test_selling_more_than_held_is_refused() -> None:
    book = Book(cash=D("0"))
    with pytest.raises(OversoldError):
        apply_fill(book, FillEvent(BTC, "sell", D("0.1"), D("20000")))


def test_an_unknown_side_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown side"):
        apply_fill(Book(cash=D("0")), FillEvent(BTC, "short", D("1"), D("1")))
