"""The one sizing function of live trading and backtests."""

from __future__ import annotations

from decimal import Decimal as D

from strategies.sizing import (
    MarketRules,
    Refusal,
    Sized,
    fee_for,
    rebalance_band,
    share_refusal,
    size_order,
)

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


def test_a_target_buys_the_difference_to_its_share_of_the_equity() -> None:
    # 1000 cash + 2 units at 100 = 1200 of equity; 0.5 of it is 600: buy 400 more.
    sized = size(side="target", fraction=D("0.5"), held=D(2))
    assert isinstance(sized, Sized) and sized.side == "buy" and sized.reserve == D(400)


def test_a_target_below_the_position_sells_the_difference_at_the_slipped_price() -> None:
    # 200 cash + 8 units at 100 = 1000; 0.3 of it is 300: sell 5 units.
    sized = size(side="target", fraction=D("0.3"), cash=D(200), held=D(8), sell_markdown=D("0.01"))
    assert isinstance(sized, Sized) and (sized.side, sized.amount) == ("sell", D(5))
    assert sized.price == D(99)


def test_a_target_of_nothing_sells_every_unit_even_inside_the_band() -> None:
    sized = size(side="target", fraction=D(0), cash=D(1000), held=D("0.2"))
    assert isinstance(sized, Sized) and (sized.side, sized.amount) == ("sell", D("0.2"))


def test_a_target_inside_the_band_is_not_traded_and_a_higher_cost_widens_the_band() -> None:
    # 500 cash + 5 units = 1000 at 50 %: 0.54 is inside 5 %, 0.58 outside.
    at = {"side": "target", "cash": D(500), "held": D(5)}
    assert size(**at, fraction=D("0.54")).reason == "at_target"  # type: ignore[union-attr]
    assert isinstance(size(**at, fraction=D("0.58")), Sized)
    # Measured costs twice the default: a 10 % band.
    assert size(**at, fraction=D("0.58"), cost=D("0.003")).reason == "at_target"  # type: ignore[union-attr]
    assert rebalance_band(None) == rebalance_band(D("0.0001")) == D("0.05")
    assert rebalance_band(D(1)) == D("0.25")  # capped


def test_a_bot_of_two_markets_gives_each_target_an_equal_share_of_its_equity() -> None:
    # Fails before sleeves: the first market at target 1 took all 1000 of cash and
    # the second found none. Now each holds up to half of cash + positions.
    first = size(side="target", fraction=D(1), cash=D(1000), sleeves=2)
    assert isinstance(first, Sized) and first.reserve == D(500)
    # The second market sees 500 left and the first market's 500 committed elsewhere.
    second = size(side="target", fraction=D(1), cash=D(500), committed=D(500), sleeves=2)
    assert isinstance(second, Sized) and second.reserve == D(500)
    # Half of its share: 250 of the 1000.
    half = size(side="target", fraction=D("0.5"), cash=D(500), committed=D(500), sleeves=2)
    assert isinstance(half, Sized) and half.reserve == D(250)


def test_a_target_outside_zero_to_one_is_refused_with_a_reason() -> None:
    for share in (D("1.0001"), D("-0.1"), D("NaN")):
        refusal = size(side="target", fraction=share)
        assert isinstance(refusal, Refusal) and refusal.reason == "oversize", share
    assert share_refusal("target", D(0)) is None and share_refusal("target", D(1)) is None
    assert share_refusal("buy", D(0)) is not None


def test_buys_and_sells_keep_their_meaning_with_markups() -> None:
    sized = size(fraction=D("0.25"), buy_markup=D("0.01"))
    assert isinstance(sized, Sized) and sized.side == "buy" and sized.price == D(101)


def test_a_refusal_below_the_minimum_names_its_units() -> None:
    # Fails before: "0.00012 is below the market's minimum amount." with no unit.
    market = {
        "base": "BTC", "quote": "USDT", "precision": {"amount": 0.00001},
        "limits": {"amount": {"min": 0.001}, "cost": {"min": 5}},
    }  # fmt: skip
    rules = MarketRules.from_ccxt(market)
    small = size(side="buy", fraction=D("0.0001"), rules=rules)
    assert isinstance(small, Refusal)
    assert small.message == "0.00099 BTC is below the market's minimum amount 0.001 BTC."
    cheap = size(
        side="buy", fraction=D("0.004"), price=D(1), rules=MarketRules(min_cost=D(5), quote="USDT")
    )
    assert isinstance(cheap, Refusal)
    assert cheap.message == "3.996004 USDT is below the market's minimum order value 5 USDT."
