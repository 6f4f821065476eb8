"""Reads for the pages: a fixed number of queries however many rows there are."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from strategies.gaps import GapReport, gaps_of_markets
from strategies.library import REGISTRY, build_model
from strategies.library.base import LearnedModel, StrategyModel
from strategies.models import (
    Backtest,
    Candle,
    ModelState,
    Signal,
    SignalFill,
    SignalOutcome,
    Strategy,
    StrategyRun,
)
from strategies.sizing import REFERENCE_COST
from strategies.timeframes import last_closed, refit_anchor, step
from strategies.track_records import (
    LiveRecord,
    OfficialRecord,
    live_records,
    official_headlines,
    official_records,
)

RECENT_SIGNALS = 20
RECENT_RUNS = 10
MY_BACKTESTS = 5


def visible_strategies(user: User) -> QuerySet[Strategy]:
    """Staff see every strategy; users the active ones."""
    strategies = Strategy.objects.all()
    return strategies if user.is_staff else strategies.filter(is_active=True)


def strategy_of(user: User, slug: str) -> Strategy:
    return get_object_or_404(visible_strategies(user), slug=slug)


def backtests_visible_to(user: User) -> QuerySet[Backtest]:
    """Official backtests, and the user's own; another user's are not there."""
    return Backtest.objects.filter(Q(requested_by__isnull=True) | Q(requested_by=user))


def backtest_of(user: User, backtest_id: str | uuid.UUID) -> Backtest:
    return get_object_or_404(backtests_visible_to(user).select_related("strategy"), pk=backtest_id)


@dataclass
class LiveStats:
    """How a strategy's signals did once bots traded them."""

    signals: int = 0
    traded: int = 0
    closed: int = 0
    wins: int = 0
    total_return: Decimal = Decimal(0)
    open_returns: list[Decimal] = field(default_factory=list)

    @property
    def hit_rate(self) -> Decimal | None:
        return Decimal(self.wins) / self.closed if self.closed else None

    @property
    def average_return(self) -> Decimal | None:
        return self.total_return / self.closed if self.closed else None

    @property
    def open_average(self) -> Decimal | None:
        if not self.open_returns:
            return None
        return sum(self.open_returns, Decimal(0)) / len(self.open_returns)


def _latest_close() -> Subquery:
    return Subquery(
        Candle.objects.filter(
            exchange_id=OuterRef("strategy__exchange_id"),
            market=OuterRef("market"),
            timeframe=OuterRef("strategy__timeframe"),
        )
        .order_by("-open_time")
        .values("close")[:1]
    )


def marked_return(outcome: SignalOutcome, price: Decimal | None) -> Decimal | None:
    """An open outcome's return if it were closed at ``price`` (entry fees counted)."""
    if price is None or not outcome.average_price:
        return None
    direction = 1 if outcome.side == Signal.Action.BUY else -1
    return direction * (price / outcome.average_price - 1) - outcome.fee_rate


def live_stats(strategy_ids: list[int]) -> dict[int, LiveStats]:
    """Two queries for any number of strategies."""
    stats = {pk: LiveStats() for pk in strategy_ids}
    counts = (
        Signal.objects.filter(strategy_id__in=strategy_ids)
        .exclude(action=Signal.Action.HOLD)
        .values("strategy_id")
        .annotate(n=Count("id"))
    )
    for row in counts:
        stats[row["strategy_id"]].signals = row["n"]
    outcomes = SignalOutcome.objects.filter(strategy_id__in=strategy_ids).annotate(
        last_close=_latest_close()
    )
    for outcome in outcomes:
        entry = stats[outcome.strategy_id]
        entry.traded += 1
        if outcome.realised_return is not None:
            entry.closed += 1
            entry.wins += outcome.realised_return > 0
            entry.total_return += outcome.realised_return
        else:
            marked = marked_return(outcome, outcome.last_close)
            if marked is not None:
                entry.open_returns.append(marked)
    return stats


def _latest_official(strategy_ids: list[int]) -> dict[int, list[Backtest]]:
    """Each strategy's newest finished official backtest per market, curves left out."""
    found: dict[int, dict[str, Backtest]] = {pk: {} for pk in strategy_ids}
    backtests = (
        Backtest.objects.filter(
            strategy_id__in=strategy_ids,
            requested_by__isnull=True,
            status=Backtest.Status.DONE,
        )
        .defer("curve", "params")
        .order_by("-finished_at")
    )
    for backtest in backtests:
        found[backtest.strategy_id].setdefault(backtest.market, backtest)
    return {pk: list(by_market.values()) for pk, by_market in found.items()}


@dataclass(frozen=True)
class CatalogueEntry:
    strategy: Strategy
    model: type[StrategyModel] | None
    backtests: list[Backtest]
    live: LiveStats
    # Its official record on real history (first market that has one), if computed.
    real: OfficialRecord | None = None

    @property
    def parameters(self) -> list[tuple[str, object, str]]:
        """Every parameter the model runs with (defaults filled in), and what it means."""
        if self.model is None:
            return [(name, value, "") for name, value in self.strategy.params.items()]
        try:
            values = self.model.validate(self.strategy.params)
        except ValueError:
            values = dict(self.strategy.params)
        return [(name, values.get(name), spec.help) for name, spec in self.model.PARAMS.items()]

    @property
    def headline(self) -> Backtest | None:
        """The backtest of its first market (the one listed first), else any."""
        for market in self.strategy.markets:
            for backtest in self.backtests:
                if backtest.market == market:
                    return backtest
        return self.backtests[0] if self.backtests else None


def catalogue(user: User) -> list[CatalogueEntry]:
    strategies = list(visible_strategies(user))
    ids = [s.pk for s in strategies]
    backtests = _latest_official(ids)
    live = live_stats(ids)
    real = official_headlines(strategies)
    return [
        CatalogueEntry(
            strategy=s,
            model=REGISTRY.get(s.kind),
            backtests=backtests[s.pk],
            live=live[s.pk],
            real=real.get(s.pk),
        )
        for s in strategies
    ]


# Fewer fills than this say too little about costs: the default is used.
COST_MIN_FILLS = 20


@dataclass(frozen=True)
class FillQuality:
    """How bots' fills of a strategy's signals compared with the decisions.

    Slippage is against the close of the candle the decision was made on,
    volume-weighted and signed so that a positive figure is a cost (bought
    above it, sold below it). The fill ratio counts orders whose fills were
    reported with the amount they asked for.
    """

    fills: int = 0
    notional: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    slippage_cost: Decimal | None = None
    reference_notional: Decimal = Decimal(0)
    filled: Decimal = Decimal(0)
    ordered: Decimal = Decimal(0)

    @property
    def fee_rate(self) -> Decimal | None:
        return self.fees / self.notional if self.notional else None

    @property
    def slippage(self) -> Decimal | None:
        if self.slippage_cost is None or not self.reference_notional:
            return None
        return self.slippage_cost / self.reference_notional

    @property
    def fill_ratio(self) -> Decimal | None:
        return min(Decimal(1), self.filled / self.ordered) if self.ordered else None

    @property
    def trade_cost(self) -> Decimal:
        """The estimated cost of a trade as a share of its value: measured fee rate
        plus slippage (a price improvement counts as none), once ``COST_MIN_FILLS``
        fills are known; the backtests' assumption (``sizing.REFERENCE_COST``)
        before. Signals carry it; it widens a target's rebalance band."""
        if self.fills < COST_MIN_FILLS or self.fee_rate is None:
            return REFERENCE_COST
        slippage = max(Decimal(0), self.slippage or Decimal(0))
        return (self.fee_rate + slippage).quantize(Decimal("0.000001"))


def _exact(expression: Any) -> ExpressionWrapper:
    return ExpressionWrapper(
        expression, output_field=DecimalField(max_digits=60, decimal_places=24)
    )


def fill_quality(strategy: Strategy) -> FillQuality:
    """Two aggregate queries, whatever the number of fills: no counter, so no lock."""
    fills = SignalFill.objects.filter(signal__strategy=strategy)
    reference = F("signal__reference_price")
    measured = Q(signal__reference_price__isnull=False)
    totals = fills.aggregate(
        fills=Count("id"),
        notional=Sum(_exact(F("amount") * F("price"))),
        fees=Sum("fee"),
        reference_notional=Sum(_exact(F("amount") * reference), filter=measured),
        slippage_cost=Sum(
            Case(
                When(side=Signal.Action.BUY, then=_exact((F("price") - reference) * F("amount"))),
                default=_exact((reference - F("price")) * F("amount")),
            ),
            filter=measured,
        ),
    )
    per_order = (
        fills.exclude(order_ref="")
        .filter(ordered_amount__isnull=False)
        .values("order_ref")
        .annotate(asked=Max("ordered_amount"), got=Sum("amount"))
    )
    orders = per_order.aggregate(ordered=Sum("asked"), filled=Sum("got"))
    return FillQuality(
        fills=totals["fills"],
        notional=_decimal(totals["notional"]),
        fees=_decimal(totals["fees"]),
        slippage_cost=None
        if totals["slippage_cost"] is None
        else _decimal(totals["slippage_cost"]),
        reference_notional=_decimal(totals["reference_notional"]),
        filled=_decimal(orders["filled"]),
        ordered=_decimal(orders["ordered"]),
    )


def _decimal(value: object) -> Decimal:
    # SQLite sums decimals as floats: back to Decimal through their text.
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


@dataclass(frozen=True)
class LearningNote:
    """What a strategy's model learns from and when, for the page to say plainly."""

    learned: bool
    lookback: int
    window: int = 0
    every: int = 0
    refit_hours: str = ""
    next_refit: datetime | None = None


def learning_note(strategy: Strategy, *, now: datetime | None = None) -> LearningNote | None:
    try:
        model = build_model(strategy.kind, strategy.params)
    except (LookupError, ValueError):
        return None
    if not isinstance(model, LearnedModel):
        return LearningNote(learned=False, lookback=model.lookback)
    now = now or timezone.now()
    width = step(strategy.timeframe)
    last = refit_anchor(
        last_closed(now, strategy.timeframe), strategy.timeframe, model.retrain_every
    )
    return LearningNote(
        learned=True,
        lookback=model.lookback,
        window=model.training_window,
        every=model.retrain_every,
        refit_hours=f"{model.retrain_every * width.total_seconds() / 3600:g}",
        # A fit is made at the close of the refit candle.
        next_refit=last + model.retrain_every * width + width,
    )


@dataclass(frozen=True)
class StrategyPage:
    entry: CatalogueEntry
    chart_backtest: Backtest | None
    my_backtests: list[Backtest]
    signals: list[Signal]
    runs: list[StrategyRun]
    model_states: list[ModelState]
    # Holes in each market's stored candles: backtests and fits read around them.
    gaps: dict[str, GapReport]
    fills: FillQuality
    learning: LearningNote | None
    # Issue 11 item 3: the official record on real history, and its signals' own.
    official: list[OfficialRecord]
    live_records: list[LiveRecord]
    demo_data: bool


def strategy_page(
    user: User, strategy: Strategy, *, backtest_id: str | uuid.UUID | None = None
) -> StrategyPage:
    official = _latest_official([strategy.pk])[strategy.pk]
    entry = CatalogueEntry(
        strategy=strategy,
        model=REGISTRY.get(strategy.kind),
        backtests=official,
        live=live_stats([strategy.pk])[strategy.pk],
    )
    chosen = None
    if backtest_id is not None:
        chosen = (
            backtests_visible_to(user)
            .filter(strategy=strategy, pk=backtest_id, status=Backtest.Status.DONE)
            .first()
        )
    if chosen is None and entry.headline is not None:
        chosen = Backtest.objects.get(pk=entry.headline.pk)
    my_backtests = list(
        Backtest.objects.filter(strategy=strategy, requested_by=user)
        .defer("curve")
        .order_by("-created_at")[:MY_BACKTESTS]
    )
    signals = list(
        strategy.signals.select_related("outcome").order_by("-period", "market")[:RECENT_SIGNALS]
    )
    runs = list(strategy.runs.order_by("-started_at")[:RECENT_RUNS])
    newest_versions = (
        ModelState.objects.filter(strategy=strategy, market=OuterRef("market"))
        .order_by("-version")
        .values("version")[:1]
    )
    states = list(
        ModelState.objects.filter(strategy=strategy, version=Subquery(newest_versions))
        .defer("fitted")
        .order_by("market")
    )
    return StrategyPage(
        entry=entry,
        chart_backtest=chosen,
        my_backtests=my_backtests,
        signals=signals,
        runs=runs,
        model_states=states,
        gaps=gaps_of_markets(
            exchange_id=strategy.exchange_id,
            timeframe=strategy.timeframe,
            markets=strategy.markets,
        ),
        fills=fill_quality(strategy),
        learning=learning_note(strategy),
        official=official_records(strategy),
        live_records=live_records(strategy),
        demo_data=strategy.exchange_id == "paper",
    )
