"""The one sizing function of live trading and backtests."""

from __future__ import annotations

from decimal import Decimal as D

from strategies.sizing import MarketRules, Refusal, Sized, fee_for, size_order

RULES = MarketRules(amount_step=D("0.001"), min_amount=D("0.001"), min_cost=D("5"))


def size(**overrides: object) -> Sized | Refusal:
    values: dict[str, object] = {
        "side": "buy", "fraction": D(1), "capital": D(1000), "cash": D(1000), "held": D(0),
        "price": D(100), "fee_rate": D("0.001"), "rules": RULES,
    }  # fmt: skip
    return size_order(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_buy_takes_what_is_left_when_cash_is_below_the_fraction_of_capital() -> None:
    sized = size(cash=D("950"))
    assert isinstance(sized, Sized)
    # 950 fee included at 100: 950 / 1.001 / 100 = 9.4905… truncated to the step.
    assert sized.amount == D("9.490") and sized.reserve == D("950")
    assert sized.amount * 100 + fee_for(sized.amount * 100, D("0.001")) <= D("950")


def test_a_buy_takes_its_fraction_of_the_capital_when_cash_allows() -> None:
    sized = size(fraction=D("0.25"))
    assert isinstance(sized, Sized) and sized.reserve == D("250")


def test_a_sell_of_everything_sells_every_unit_held() -> None:
    sized = size(side="sell", held=D("1.2345"))
    assert isinstance(sized, Sized) and sized.amount == D("1.234")


def test_refusals_say_why() -> None:
    assert size(cash=D(0)) == Refusal("no_cash", "The bot has no cash left in its allocation.")
    refusal = size(side="sell")
    assert isinstance(refusal, Refusal) and refusal.reason == "nothing_held"
    below = size(cash=D("4"))
    assert isinstance(below, Refusal) and below.reason == "below_minimum"
    assert "minimum order value 5" in below.message
    assert size(fraction=D("1.5")).reason == "oversize"  # type: ignore[union-attr]


def test_rules_are_read_from_a_ccxt_market_in_either_precision_mode() -> None:
    tick = {"precision": {"amount": 0.00001}, "limits": {"cost": {"min": 5}}}
    digits = {"precision": {"amount": 5}, "precisionMode": "digits"}
    assert MarketRules.from_ccxt(tick).amount_step == D("0.00001")
    assert MarketRules.from_ccxt(tick).min_cost == D(5)
    assert MarketRules.from_ccxt(digits).amount_step == D("0.00001")
