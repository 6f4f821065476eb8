"""A strategy run: scan each market, decide, sign, store, tell the receivers.

Each market is decided on its own: one failing (exchange down, stale data, a
model that cannot fit) is recorded on the run and the others still emit. A
signal is unique per (strategy, market, period), so of two runs that overlap
only the first to commit emits for a period; the other records the market as
already emitted. Signals are only made from the newest *closed* candle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from strategies import hooks
from strategies.engine import decide_latest
from strategies.learning import state_for_period
from strategies.library import build_model
from strategies.library.base import Decision, LearnedModel, StrategyModel
from strategies.market_data import recent_series
from strategies.models import Signal, Strategy, StrategyRun
from strategies.selectors import fill_quality
from strategies.signing import sign_signal
from strategies.timeframes import last_closed

logger = logging.getLogger(__name__)
ERROR_LENGTH = 300


class StaleMarketData(Exception):
    pass


@dataclass(frozen=True)
class MarketDecision:
    market: str
    decision: Decision
    # Close of the candle decided on: what fills are measured against.
    reference_price: Decimal | None = None


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]


def _decide_market(
    *,
    strategy: Strategy,
    model: StrategyModel,
    market: str,
    period: datetime,
    exchange: Any,
    now: datetime,
) -> MarketDecision:
    state = None
    if isinstance(model, LearnedModel):
        # Fitted once per refit time and stored; a run only loads it (or makes it
        # when it is the first run to need it), never refits per run.
        state = state_for_period(
            strategy=strategy, market=market, model=model, period=period, client=exchange, now=now
        )
    # A decision reads its last feature row only: the newest ``lookback`` candles.
    series = recent_series(
        exchange_id=strategy.exchange_id,
        market=market,
        timeframe=strategy.timeframe,
        until=period,
        count=model.lookback,
        client=exchange,
    )
    if len(series) == 0 or series.open_time(-1) != period:
        raise StaleMarketData(
            f"no closed {strategy.timeframe} candle opening {period:%Y-%m-%d %H:%M} UTC yet"
        )
    return MarketDecision(
        market=market,
        decision=decide_latest(model, series, state),
        reference_price=series.close_exact[-1],
    )


def _emit(
    *,
    strategy: Strategy,
    run: StrategyRun,
    period: datetime,
    decided: list[MarketDecision],
    clock: Callable[[], datetime],
) -> tuple[list[str], list[str]]:
    """Store and sign each decision; (emitted ids, markets another run had emitted)."""
    emitted: list[str] = []
    already: list[str] = []
    # What the strategy's trades have cost bots so far: every bot sizes with it.
    cost = fill_quality(strategy).trade_cost
    with transaction.atomic():
        for item in decided:
            signal = Signal(
                strategy=strategy,
                run=run,
                market=item.market,
                action=item.decision.action,
                fraction=item.decision.fraction,
                confidence=item.decision.confidence,
                period=period,
                reference_price=item.reference_price,
                cost=cost,
                created_at=clock(),
            )
            sign_signal(signal)
            try:
                with transaction.atomic():
                    signal.save(force_insert=True)
            except IntegrityError:
                already.append(item.market)
                continue
            emitted.append(str(signal.id))
        if emitted:
            ids = list(emitted)
            transaction.on_commit(lambda: hooks.signals_emitted(ids))
    return emitted, already


def strategy_run(
    *,
    strategy: Strategy,
    trigger: str = StrategyRun.Trigger.SCHEDULE,
    now: datetime | None = None,
    client: Any = None,
) -> StrategyRun:
    """Scan every market of ``strategy`` for the newest closed period and emit signals.

    Side effects: a StrategyRun row (created first, so even a crash leaves a
    trace), candles fetched and stored, model states refitted when due, one
    signed Signal per market decided, and, after commit,
    ``hooks.signals_emitted`` with the new ids. Errors of a market are recorded
    on the run, not raised; the run is FAILED when no market could be decided
    or the signing key does not open.
    """
    wall_start = timezone.now()
    now = now or wall_start

    def clock() -> datetime:
        # The run's own time: ``now`` moved on by the time spent since it began.
        return now + (timezone.now() - wall_start)

    run = StrategyRun.objects.create(strategy=strategy, trigger=trigger, started_at=now)
    period = last_closed(now, strategy.timeframe)
    decided: list[MarketDecision] = []
    errors: list[dict[str, str]] = []
    try:
        model = build_model(strategy.kind, strategy.params)
        exchange = client if client is not None else hooks.public_client(strategy.exchange_id)
    except Exception as exc:
        errors.append({"market": "*", "error": describe(exc)})
    else:
        for market in strategy.markets:
            try:
                decided_market = _decide_market(
                    strategy=strategy,
                    model=model,
                    market=market,
                    period=period,
                    exchange=exchange,
                    now=now,
                )
            except Exception as exc:
                # A market failing must not stop the others: recorded, not raised.
                logger.warning("%s %s: %s", strategy.slug, market, describe(exc))
                errors.append({"market": market, "error": describe(exc)})
            else:
                decided.append(decided_market)
    emitted: list[str] = []
    already: list[str] = []
    if decided:
        try:
            emitted, already = _emit(
                strategy=strategy, run=run, period=period, decided=decided, clock=clock
            )
        except Exception as exc:
            logger.error("%s: signals not emitted: %s", strategy.slug, describe(exc))
            errors.append({"market": "*", "error": f"not signed: {describe(exc)}"})
            decided = []
    run.markets_scanned = list(strategy.markets)
    run.signals_emitted = len(emitted)
    run.already_emitted = already
    run.errors = errors
    run.finished_at = clock()
    if not errors:
        run.status = StrategyRun.Status.SUCCEEDED
    elif decided:
        run.status = StrategyRun.Status.PARTIAL
    else:
        run.status = StrategyRun.Status.FAILED
    run.save()
    return run
