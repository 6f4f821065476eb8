"""Writes: creating strategies and their keys, switching them, and backtests."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import User
from strategies.backtest import Costs, run_backtest
from strategies.charts import thin_curve, trade_log
from strategies.library import REGISTRY, build_model
from strategies.market_data import candle_series, candles_sync
from strategies.models import RATIO_PLACES, Backtest, Strategy
from strategies.runs import describe
from strategies.schedules import strategy_schedule_sync
from strategies.signing import generate_key_pair
from strategies.timeframes import last_closed, period_start, step
from strategies.track_records import REFERENCE_EXCHANGE, reference_span, shipped_markets

logger = logging.getLogger(__name__)
STAT_PLACES = Decimal(1).scaleb(-RATIO_PLACES)


class BacktestRefused(ValueError):
    """A backtest request that is not accepted; the message says why, for the user."""


def _setting_decimal(name: str, default: str) -> Decimal:
    return Decimal(str(getattr(settings, name, default)))


def _fit_ahead(strategy: Strategy) -> None:
    """A learned strategy switched on: fit its models now, in the background, so its
    first scheduled run finds them instead of fetching a training window and fitting."""
    learned = REGISTRY.get(strategy.kind)
    if strategy.is_active and learned is not None and learned.learned:
        pk = strategy.pk
        transaction.on_commit(lambda: async_task("strategies.tasks.refit_strategy", pk))


@transaction.atomic
def strategy_add(*, strategy: Strategy) -> Strategy:
    """Store a new (validated) strategy with a fresh key pair, and schedule it.

    A learned strategy also gets its first fit queued, after commit.
    """
    private_key, strategy.public_key = generate_key_pair()
    strategy.private_key = private_key  # sealed on save
    strategy.keys_rotated_at = timezone.now()
    strategy.save()
    strategy_schedule_sync(strategy=strategy)
    _fit_ahead(strategy)
    _record_ahead(strategy)
    return strategy


def strategy_create(
    *,
    slug: str,
    name: str,
    kind: str,
    markets: list[str],
    description: str = "",
    timeframe: str = "4h",
    interval_minutes: int = 240,
    params: dict[str, Any] | None = None,
    risk: str = Strategy.Risk.MEDIUM,
    exchange_id: str = "paper",
    is_active: bool = True,
) -> Strategy:
    """A validated strategy with a new Ed25519 key pair, and its run schedule.

    Raises django's ValidationError for an unknown kind, bad parameters,
    markets or timeframe, or a slug in use.
    """
    strategy = Strategy(
        slug=slug,
        name=name,
        description=description,
        kind=kind,
        markets=markets,
        timeframe=timeframe,
        interval_minutes=interval_minutes,
        max_signal_age=2 * interval_minutes * 60,
        params=params or {},
        risk=risk,
        exchange_id=exchange_id,
        is_active=is_active,
    )
    strategy.full_clean(exclude=["public_key", "private_key"])
    return strategy_add(strategy=strategy)


@transaction.atomic
def strategy_rotate_keys(*, strategy: Strategy) -> Strategy:
    """Replace the key pair. Signals signed before no longer verify: bots ignore them,
    which is what a suspected key leak calls for."""
    private_key, public_key = generate_key_pair()
    strategy.private_key = private_key  # sealed on save
    strategy.public_key = public_key
    strategy.keys_rotated_at = timezone.now()
    strategy.save(update_fields=["private_key", "public_key", "keys_rotated_at", "updated_at"])
    logger.info("Signing keys of %s rotated", strategy.slug)
    return strategy


@transaction.atomic
def strategy_set_active(*, strategy: Strategy, active: bool) -> Strategy:
    """Switch a strategy on or off; its schedule follows (removed while off)."""
    was_active = Strategy.objects.filter(pk=strategy.pk, is_active=True).exists()
    strategy.is_active = active
    strategy.save(update_fields=["is_active", "updated_at"])
    strategy_schedule_sync(strategy=strategy)
    if active and not was_active:
        _fit_ahead(strategy)
    return strategy


def _record_ahead(strategy: Strategy) -> None:
    """Its official record on the shipped real history, recomputed in the background
    (a stale one is never shown as the new settings': kind and params are stored)."""
    pk = strategy.pk
    transaction.on_commit(lambda: async_task("strategies.tasks.refresh_track_records", pk))


def strategy_settings_changed(*, strategy: Strategy) -> None:
    """After staff edited a strategy: the schedule follows its interval and state, and
    its official record is recomputed."""
    strategy_schedule_sync(strategy=strategy)
    _record_ahead(strategy)


def backtest_request(
    *,
    strategy: Strategy,
    market: str,
    days: int,
    requested_by: User | None = None,
    now: datetime | None = None,
    real_history: bool = False,
) -> Backtest:
    """Queue a backtest of ``strategy`` on ``market`` over the last ``days`` days.

    Costs and capital come from settings (STRATEGY_BACKTEST_*). A user may
    have one unfinished backtest at a time; ``requested_by=None`` is an
    official backtest shown to everybody. Raises BacktestRefused. The task is
    queued after commit. ``real_history``: over all of the real history shipped
    with the project (``track_records``), ``days`` ignored, nothing fetched.
    """
    if market not in strategy.markets:
        raise BacktestRefused(f"{strategy.name} does not trade {market}.")
    exchange_id, span = "", None
    if real_history:
        exchange_id = REFERENCE_EXCHANGE
        span = reference_span(market=market, timeframe=strategy.timeframe)
        if span is None:
            raise BacktestRefused(
                f"No real {strategy.timeframe} history of {market} is shipped with OneClick "
                f"(it has {', '.join(shipped_markets()) or 'none'} at 4h); choose the "
                "exchange's candles."
            )
    else:
        longest = int(getattr(settings, "STRATEGY_BACKTEST_MAX_DAYS", 5 * 366))
        if not 1 <= days <= longest:
            raise BacktestRefused(f"A backtest covers 1 to {longest} days.")
    if span is not None:
        start, end = span
    else:
        now = now or timezone.now()
        end = last_closed(now, strategy.timeframe)
        start = period_start(end - timedelta(days=days), strategy.timeframe) + step(
            strategy.timeframe
        )
    with transaction.atomic():
        if requested_by is not None:
            # The user's row is the lock: two requests at once cannot both find no
            # unfinished backtest and both queue one.
            User.objects.select_for_update().filter(pk=requested_by.pk).exists()
            if Backtest.objects.filter(
                requested_by=requested_by,
                status__in=[Backtest.Status.QUEUED, Backtest.Status.RUNNING],
            ).exists():
                raise BacktestRefused("Your previous backtest is still running; wait for it first.")
        backtest = Backtest.objects.create(
            strategy=strategy,
            requested_by=requested_by,
            market=market,
            timeframe=strategy.timeframe,
            exchange_id=exchange_id,
            kind=strategy.kind,
            params=dict(strategy.params),
            start=start,
            end=end,
            capital=_setting_decimal("STRATEGY_BACKTEST_CAPITAL", "10000"),
            fee_rate=_setting_decimal("STRATEGY_BACKTEST_FEE_RATE", "0.001"),
            slippage_rate=_setting_decimal("STRATEGY_BACKTEST_SLIPPAGE_RATE", "0.0005"),
        )
        backtest_id = str(backtest.pk)
        transaction.on_commit(lambda: async_task("strategies.tasks.run_backtest", backtest_id))
    return backtest


def _report(backtest: Backtest, *, phase: str, progress: int) -> None:
    if progress == backtest.progress and phase == backtest.phase:
        return
    backtest.progress, backtest.phase = progress, phase
    Backtest.objects.filter(pk=backtest.pk).update(
        progress=progress, phase=phase, updated_at=timezone.now()
    )


# Annualising a few lucky days gives numbers that say nothing (and overflow the column).
MEANINGFUL_STAT = Decimal(10) ** 9


def _stat(value: Decimal | None) -> Decimal | None:
    if value is None or abs(value) >= MEANINGFUL_STAT:
        return None
    return value.quantize(STAT_PLACES)


def backtest_execute(*, backtest: Backtest, client: Any = None) -> Backtest:
    """Fetch the candles it needs, replay the strategy, store the statistics.

    Progress (phase and percent) is written as it goes, for the page to show:
    the first half fetching, the second replaying. Any error marks the
    backtest FAILED with a short reason; nothing is raised.
    """
    exchange_id = backtest.data_exchange
    backtest.status, backtest.started_at, backtest.error = (
        Backtest.Status.RUNNING,
        timezone.now(),
        "",
    )
    backtest.save(update_fields=["status", "started_at", "error", "updated_at"])
    try:
        model = build_model(backtest.kind, backtest.params)
        # Enough before the start for the first decision, and for a learned model
        # to be fitted already, as it would be live.
        warmup = model.history * step(backtest.timeframe)
        history_start = backtest.start - warmup
        span = (backtest.end - history_start).total_seconds() or 1.0

        def fetched_until(cursor: datetime) -> None:
            done = (cursor - history_start).total_seconds() / span
            _report(backtest, phase="fetching candles", progress=min(50, int(done * 50)))

        if exchange_id == REFERENCE_EXCHANGE:
            # The shipped history is stored, not fetched: from its first candle on.
            _report(backtest, phase="reading stored candles", progress=50)
        else:
            _report(backtest, phase="fetching candles", progress=0)
            candles_sync(
                exchange_id=exchange_id,
                market=backtest.market,
                timeframe=backtest.timeframe,
                start=history_start,
                end=backtest.end,
                client=client,
                on_page=fetched_until,
            )
        series = candle_series(
            exchange_id=exchange_id,
            market=backtest.market,
            timeframe=backtest.timeframe,
            until=backtest.end,
            since=history_start,
        )
        first = next(
            (i for i in range(len(series)) if series.open_time(i) >= backtest.start), len(series)
        )
        start = max(first, model.lookback - 1)

        def replayed(done: int, total: int) -> None:
            _report(backtest, phase="replaying", progress=50 + int(done / max(total, 1) * 49))

        result = run_backtest(
            model,
            series,
            capital=backtest.capital,
            costs=Costs(fee_rate=backtest.fee_rate, slippage_rate=backtest.slippage_rate),
            start=start,
            on_progress=replayed,
        )
    except Exception as exc:
        logger.warning("Backtest %s failed: %s", backtest.pk, describe(exc))
        backtest.status, backtest.error = Backtest.Status.FAILED, describe(exc)
        backtest.finished_at = timezone.now()
        backtest.save(update_fields=["status", "error", "finished_at", "updated_at"])
        return backtest
    stats = result.stats
    backtest.candles = len(series) - start
    backtest.final_equity = stats.final_equity.quantize(Decimal("0.01"))
    backtest.total_return = _stat(stats.total_return)
    backtest.cagr = _stat(stats.cagr)
    backtest.max_drawdown = _stat(stats.max_drawdown)
    backtest.sharpe = _stat(stats.sharpe)
    backtest.win_rate = _stat(stats.win_rate)
    backtest.exposure = _stat(stats.exposure)
    backtest.trades = stats.trades
    backtest.curve = thin_curve(result.ledger.times_ms, result.ledger.equity, result.drawdown)
    backtest.trade_log = trade_log(result.ledger.trades)
    backtest.status, backtest.phase, backtest.progress = Backtest.Status.DONE, "", 100
    backtest.finished_at = timezone.now()
    backtest.save()
    return backtest
