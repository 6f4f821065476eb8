from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from strategies.feedback import FillRejected, record_fill
from strategies.models import Signal, SignalFill, SignalOutcome
from strategies.selectors import fill_quality
from strategies.tests.factories import START, SignalFactory, StrategyFactory
from testing.threads import run_in_threads

pytestmark = pytest.mark.django_db
D = Decimal
FILLED = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def strategy():
    return StrategyFactory()


def signal(strategy, action: str, hours: int, market: str = "BTC/USDT") -> Signal:
    return SignalFactory(
        strategy=strategy, action=action, market=market, period=START + timedelta(hours=hours)
    )


def fill(sig: Signal, amount: str, price: str, fee: str, **kwargs) -> SignalOutcome:
    return record_fill(
        signal_id=sig.pk, side=sig.action, amount=D(amount), price=D(price), fee=D(fee),
        filled_at=kwargs.pop("filled_at", FILLED), **kwargs,
    )  # fmt: skip


def test_fills_of_several_bots_add_up_to_one_outcome(strategy) -> None:
    buy = signal(strategy, "buy", 0)
    fill(buy, "1", "100", "0.1")
    outcome = fill(buy, "1", "102", "0.102", filled_at=FILLED + timedelta(seconds=5))
    assert (outcome.fills, outcome.amount, outcome.notional, outcome.fees) == (
        2,
        D(2),
        D(202),
        D("0.202"),
    )
    assert outcome.average_price == D(101)
    assert outcome.first_filled_at == FILLED and outcome.last_filled_at == FILLED + timedelta(
        seconds=5
    )
    assert outcome.realised_return is None  # still open


def test_a_buy_closes_at_the_next_sell_with_its_return_after_fees(strategy) -> None:
    buy, sell = signal(strategy, "buy", 0), signal(strategy, "sell", 4)
    fill(buy, "1", "100", "0.1")
    fill(buy, "1", "102", "0.102")
    fill(sell, "2", "111.1", "0.2222")
    outcome = SignalOutcome.objects.get(signal=buy)
    # Entry 101, exit 111.1: +10 %, minus 0.1 % fee on each side.
    assert outcome.realised_return == D("0.098")
    assert outcome.closed_by_id == sell.pk and outcome.exit_price == D("111.1")
    assert SignalOutcome.objects.get(signal=sell).realised_return is None


def test_a_sell_closes_at_the_next_buy_and_earns_what_it_avoided(strategy) -> None:
    sell, buy = signal(strategy, "sell", 0), signal(strategy, "buy", 4)
    fill(sell, "1", "100", "0")
    fill(buy, "1", "90", "0")
    assert SignalOutcome.objects.get(signal=sell).realised_return == D("0.1")


def test_fills_reported_out_of_order_link_the_same_way(strategy) -> None:
    buy, sell = signal(strategy, "buy", 0), signal(strategy, "sell", 4)
    fill(sell, "1", "110", "0")
    fill(buy, "1", "100", "0")
    assert SignalOutcome.objects.get(signal=buy).realised_return == D("0.1")


def test_a_later_fill_of_the_closing_signal_updates_the_return(strategy) -> None:
    buy, sell = signal(strategy, "buy", 0), signal(strategy, "sell", 4)
    fill(buy, "1", "100", "0")
    fill(sell, "1", "110", "0")
    fill(sell, "1", "130", "0")
    assert SignalOutcome.objects.get(signal=buy).realised_return == D("0.2")


def test_a_buy_closes_at_the_first_later_sell_only(strategy) -> None:
    buy = signal(strategy, "buy", 0)
    first_sell, second_sell = signal(strategy, "sell", 4), signal(strategy, "sell", 8)
    fill(buy, "1", "100", "0")
    fill(second_sell, "1", "150", "0")
    fill(first_sell, "1", "120", "0")
    assert SignalOutcome.objects.get(signal=buy).closed_by_id == first_sell.pk
    assert SignalOutcome.objects.get(signal=buy).realised_return == D("0.2")


def test_other_markets_and_strategies_do_not_close_each_other(strategy) -> None:
    buy = signal(strategy, "buy", 0)
    fill(buy, "1", "100", "0")
    fill(signal(strategy, "sell", 4, market="ETH/USDT"), "1", "110", "0")
    fill(signal(StrategyFactory(), "sell", 4), "1", "110", "0")
    assert SignalOutcome.objects.get(signal=buy).realised_return is None


def test_the_same_fill_reported_twice_counts_once(strategy) -> None:
    buy = signal(strategy, "buy", 0)
    fill(buy, "1", "100", "0.1", fill_id="trade-1")
    outcome = fill(buy, "1", "100", "0.1", fill_id="trade-1")
    assert outcome.fills == 1 and SignalFill.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"signal_id": uuid.uuid4()}, "no signal"),
        ({"side": "sell"}, "cannot belong to a buy signal"),
        ({"side": "hold"}, "buy or sell"),
        ({"amount": D(0)}, "amount must be positive"),
        ({"price": D(-1)}, "price must be positive"),
        ({"fee": D("-0.1")}, "fee must be zero or more"),
        ({"amount": 1.5}, "finite Decimal"),
        ({"price": D("NaN")}, "finite Decimal"),
        ({"amount": D("1e30")}, "too large"),
        ({"filled_at": datetime(2025, 1, 1)}, "aware"),  # noqa: DTZ001
    ],
)
def test_a_fill_that_cannot_be_right_is_rejected(strategy, change: dict, message: str) -> None:
    buy = signal(strategy, "buy", 0)
    values: dict[str, Any] = {
        "signal_id": buy.pk,
        "side": "buy",
        "amount": D(1),
        "price": D(100),
        "fee": D(0),
        "filled_at": FILLED,
    }
    values.update(change)
    with pytest.raises(FillRejected, match=message):
        record_fill(**values)
    assert not SignalFill.objects.exists() and not SignalOutcome.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_fills_reported_at_once_by_many_bots_all_count() -> None:
    buy = SignalFactory(strategy=StrategyFactory(), action="buy")
    start = threading.Barrier(6, timeout=30)

    def report(n: int) -> None:
        start.wait()
        fill(buy, "1", str(100 + n), "0", fill_id=f"trade-{n}")

    assert run_in_threads(report, 6) == []
    outcome = SignalOutcome.objects.get(signal=buy)
    # A lost update would show fewer fills or a wrong sum: 100 + 101 + … + 105.
    assert (outcome.fills, outcome.amount, outcome.notional) == (6, D(6), D(615))


# Issue 11, item 5: fill outcomes against the decision, aggregated per strategy.
def priced(strategy, action: str, hours: int, reference: str) -> Signal:
    sig = signal(strategy, action, hours)
    Signal.objects.filter(pk=sig.pk).update(reference_price=D(reference))
    return sig


def test_slippage_fees_and_fill_ratio_are_aggregated_per_strategy(
    strategy, django_assert_num_queries
) -> None:
    buy = priced(strategy, "buy", 0, "100")
    sell = priced(strategy, "sell", 4, "200")
    # Bot A's buy order asked for 2, got 1 @ 101 and 0.5 @ 102; bot B's asked 1, got 1 @ 100.
    fill(buy, "1", "101", "0.101", fill_id="a1", order_ref="A", ordered_amount=D(2))
    fill(buy, "0.5", "102", "0.051", fill_id="a2", order_ref="A", ordered_amount=D(2))
    fill(buy, "1", "100", "0.1", fill_id="b1", order_ref="B", ordered_amount=D(1))
    # A sell of 1 @ 198 against a decision at 200: 2 below, a cost.
    fill(sell, "1", "198", "0.198", fill_id="s1", order_ref="S", ordered_amount=D(1))
    with django_assert_num_queries(2):
        quality = fill_quality(strategy)
    assert quality.fills == 4
    # Costs: buys 1*1 + 0.5*2 + 0 = 2, sell 2 -> 4, over 100*2.5 + 200*1 = 450 decided.
    assert quality.slippage is not None and quality.fee_rate is not None
    assert quality.slippage.quantize(D("0.000001")) == D("0.008889")
    assert quality.fee_rate.quantize(D("0.000001")) == D("0.001")
    assert quality.fill_ratio == D("3.5") / D(4)


def test_fills_of_signals_without_a_decision_price_or_order_leave_those_figures_out(
    strategy,
) -> None:
    fill(signal(strategy, "buy", 0), "1", "100", "0.1")
    quality = fill_quality(strategy)
    assert quality.fills == 1 and quality.fee_rate == D("0.001")
    assert quality.slippage is None and quality.fill_ratio is None
    other = StrategyFactory()
    assert fill_quality(other).fills == 0 and fill_quality(other).fee_rate is None


def test_aggregating_fills_takes_no_lock_and_many_fills_cost_the_same_queries(
    strategy, django_assert_num_queries
) -> None:
    buy = priced(strategy, "buy", 0, "100")
    for i in range(30):
        fill(buy, "1", "100.5", "0.1", fill_id=f"f{i}", order_ref=f"o{i}", ordered_amount=D(1))
    with django_assert_num_queries(2) as captured:
        quality = fill_quality(strategy)
    assert not any("FOR UPDATE" in q["sql"].upper() for q in captured.captured_queries)
    assert quality.fills == 30 and quality.fill_ratio == 1
    assert quality.slippage == D("0.005")


def test_an_ordered_amount_that_cannot_be_right_is_rejected(strategy) -> None:
    with pytest.raises(FillRejected, match="ordered_amount must be positive"):
        fill(signal(strategy, "buy", 0), "1", "100", "0.1", ordered_amount=D(0))
    with pytest.raises(FillRejected, match="order_ref must be at most 64"):
        fill(signal(strategy, "buy", 4), "1", "100", "0.1", order_ref="x" * 65)


def test_a_target_signals_fills_are_buys_or_sells_and_its_outcome_follows_the_first(
    strategy,
) -> None:
    target = signal(strategy, "target", 0)
    outcome = record_fill(
        signal_id=target.pk, side="buy", amount=D(1), price=D(100), fee=D("0.1"), filled_at=FILLED
    )
    assert (outcome.side, outcome.amount) == ("buy", D(1))
    # Another bot, above the target, sold: stored and counted in the fill quality.
    outcome = record_fill(
        signal_id=target.pk, side="sell", amount=D(2), price=D(99), fee=D("0.2"), filled_at=FILLED
    )
    assert (outcome.side, outcome.amount) == ("buy", D(1))
    assert SignalFill.objects.filter(signal=target).count() == 2
    assert fill_quality(strategy).fills == 2
    sell = signal(strategy, "sell", 4)
    fill(sell, "1", "110", "0.11")
    outcome.refresh_from_db()
    assert outcome.realised_return is not None  # closed by the next sell


def test_the_cost_estimate_is_the_default_until_enough_fills_then_fees_plus_slippage(
    strategy,
) -> None:
    from strategies.selectors import COST_MIN_FILLS
    from strategies.sizing import REFERENCE_COST

    buy = priced(strategy, "buy", 0, "100")
    for i in range(COST_MIN_FILLS - 1):
        fill(buy, "1", "100.3", "0.2006", fill_id=f"f{i}")
    assert fill_quality(strategy).trade_cost == REFERENCE_COST
    fill(buy, "1", "100.3", "0.2006", fill_id="last")
    # A fee of 0.2 % and a slippage of 0.3 %: 0.5 % a trade, over three times the default.
    assert fill_quality(strategy).trade_cost == D("0.005")


def test_a_run_stamps_each_signal_with_the_strategys_cost_estimate(strategy) -> None:
    from strategies.runs import _emit
    from strategies.tests.factories import StrategyRunFactory

    buy = priced(strategy, "buy", 0, "100")
    for i in range(25):
        fill(buy, "1", "100.3", "0.2006", fill_id=f"f{i}")
    from strategies.library.base import TARGET, Decision
    from strategies.runs import MarketDecision

    emitted, _ = _emit(
        strategy=strategy,
        run=StrategyRunFactory(strategy=strategy),
        period=START + timedelta(hours=40),
        decided=[MarketDecision("BTC/USDT", Decision(TARGET, D("0.4"), D(1)), D(100))],
        clock=lambda: datetime.now(UTC),
    )
    made = Signal.objects.get(pk=emitted[0])
    assert (made.action, made.cost) == ("target", D("0.005"))
