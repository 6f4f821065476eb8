from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import factory
from django.db import connection
from django.utils import timezone

from oneclick.tests.typed_factory import ModelFactory
from strategies.models import Backtest, Candle, Signal, Strategy, StrategyRun
from strategies.series import CandleSeries
from strategies.signing import generate_key_pair, sign_signal
from strategies.timeframes import step

START = datetime(2024, 1, 1, tzinfo=UTC)


class StrategyFactory(ModelFactory[Strategy]):
    class Meta:
        model = Strategy

    class Params:
        key_pair = factory.LazyFunction(generate_key_pair)

    slug = factory.Sequence(lambda n: f"test-strategy-{n}")
    name = factory.Sequence(lambda n: f"Test strategy {n}")
    description = "A strategy made by a test."
    kind = "trend_following"
    markets = factory.LazyFunction(lambda: ["BTC/USDT"])
    timeframe = "4h"
    private_key = factory.LazyAttribute(lambda o: o.key_pair[0])
    public_key = factory.LazyAttribute(lambda o: o.key_pair[1])


class StrategyRunFactory(ModelFactory[StrategyRun]):
    class Meta:
        model = StrategyRun

    strategy = factory.SubFactory(StrategyFactory)
    started_at = factory.LazyFunction(timezone.now)
    status = StrategyRun.Status.SUCCEEDED


class SignalFactory(ModelFactory[Signal]):
    """A stored signal, signed by its strategy's key."""

    class Meta:
        model = Signal

    strategy = factory.SubFactory(StrategyFactory)
    run = factory.LazyAttribute(lambda o: StrategyRunFactory(strategy=o.strategy))
    market = "BTC/USDT"
    action = Signal.Action.BUY
    fraction = Decimal("0.5000")
    confidence = Decimal("0.7500")
    period = factory.Sequence(lambda n: START + n * timedelta(hours=4))
    created_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: type[Signal], *args: Any, **kwargs: Any) -> Signal:
        signal = model_class(**kwargs)  # factory_boy passes fields by name only
        sign_signal(signal)
        signal.save(force_insert=True)
        return signal


class BacktestFactory(ModelFactory[Backtest]):
    """A finished official backtest with a small curve."""

    class Meta:
        model = Backtest

    strategy = factory.SubFactory(StrategyFactory)
    market = "BTC/USDT"
    timeframe = "4h"
    kind = factory.LazyAttribute(lambda o: o.strategy.kind)
    start = START
    end = START + timedelta(days=30)
    capital = Decimal("10000")
    fee_rate = Decimal("0.001")
    slippage_rate = Decimal("0.0005")
    status = Backtest.Status.DONE
    progress = 100
    candles = 180
    final_equity = Decimal("11000")
    total_return = Decimal("0.1")
    cagr = Decimal("2.1")
    max_drawdown = Decimal("0.05")
    sharpe = Decimal("1.5")
    win_rate = Decimal("0.6")
    exposure = Decimal("0.4")
    trades = 12
    curve = factory.LazyFunction(
        lambda: [
            [1704067200000, "10000.00", "0.000000"],
            [1704672000000, "9500.00", "0.050000"],
            [1705276800000, "11000.00", "0.000000"],
        ]
    )
    finished_at = factory.LazyFunction(timezone.now)


def rows_from_closes(
    closes: Sequence[float], *, start: datetime = START, timeframe: str = "4h", volume: float = 10.0
) -> list[tuple[datetime, Decimal, Decimal, Decimal, Decimal, Decimal]]:
    """Candles whose closes are ``closes``: each opens at the previous close, with small wicks."""
    rows = []
    previous = Decimal(repr(closes[0]))
    for i, value in enumerate(closes):
        close = Decimal(repr(round(value, 6)))
        top, bottom = max(previous, close), min(previous, close)
        rows.append(
            (
                start + i * step(timeframe),
                previous,
                top * Decimal("1.001"),
                bottom * Decimal("0.999"),
                close,
                Decimal(repr(volume + (i % 7))),
            )
        )
        previous = close
    return rows


def series_from_closes(closes: Sequence[float], **kwargs: object) -> CandleSeries:
    timeframe = str(kwargs.get("timeframe", "4h"))
    return CandleSeries.from_rows(timeframe, rows_from_closes(closes, **kwargs))  # type: ignore[arg-type]


def store_rows(
    rows: Sequence[Sequence[Any]],
    *,
    exchange_id: str = "paper",
    market: str = "BTC/USDT",
    timeframe: str = "4h",
) -> None:
    Candle.objects.bulk_create(
        Candle(
            exchange_id=exchange_id,
            market=market,
            timeframe=timeframe,
            open_time=row[0],
            open=row[1],
            high=row[2],
            low=row[3],
            close=row[4],
            volume=row[5],
        )
        for row in rows
    )


def raw_private_key(strategy: Strategy) -> str:
    """The private key column as stored (ciphertext), bypassing the field."""
    query = f"SELECT private_key FROM {Strategy._meta.db_table} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, [strategy.pk])
        return cursor.fetchone()[0]


# The risk overlay (``library.risk``) switched off: tests of a model's own signal.
NO_RISK = {
    "risk_regime_window": 0,
    "risk_band": 0.0,
    "risk_brake": 1.0,
    "risk_brake_window": 2,
    "risk_target_vol": 10.0,
    "risk_vol_window": 2,
}
# The overlay on, with windows short enough for the crafted test markets.
SHORT_RISK = {
    "risk_regime_window": 60,
    "risk_band": 0.01,
    "risk_brake_window": 30,
    "risk_vol_window": 20,
}
