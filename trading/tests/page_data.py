"""A user's account with a realistic history, for screenshots and benchmarks.

Prices are a seeded random walk, so every run draws the same pictures.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from strategies.models import Backtest, Candle, Signal, Strategy, TrackRecord
from strategies.tests.factories import (
    START,
    BacktestFactory,
    SignalFactory,
    StrategyFactory,
    rows_from_closes,
    store_rows,
)
from trading.models import Balance, Bot, Decision, EquitySnapshot, Fill, Order, Position
from trading.snapshots import slot_of
from trading.tests.factories import BotFactory
from vault.tests.factories import CredentialFactory

Q = Decimal("0.01")


def price_walk(start: Decimal, steps: int, seed: int) -> list[Decimal]:
    rng = random.Random(seed)
    prices, price = [], float(start)
    for _ in range(steps):
        price *= 1 + rng.gauss(0.0004, 0.012)
        prices.append(Decimal(f"{price:.2f}"))
    return prices


def seed_candles(
    strategy: Strategy, market: str, start: Decimal, *, days: int, seed: int
) -> list[Candle]:
    """4 h candles ending now; returns them oldest first."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    count = days * 6
    first = now - timedelta(hours=4 * count)
    closes = price_walk(start, count, seed)
    rng = random.Random(seed + 1)
    candles, previous = [], closes[0]
    for i, close in enumerate(closes):
        high = max(previous, close) * Decimal(str(1 + rng.random() * 0.006))
        low = min(previous, close) * Decimal(str(1 - rng.random() * 0.006))
        candles.append(
            Candle(
                exchange_id=strategy.exchange_id, market=market, timeframe=strategy.timeframe,
                open_time=first + timedelta(hours=4 * i), open=previous, high=high.quantize(Q),
                low=low.quantize(Q), close=close, volume=Decimal(rng.randint(50, 500)),
            )
        )  # fmt: skip
        previous = close
    return Candle.objects.bulk_create(candles, ignore_conflicts=True)


def seed_account(user: User, *, bots: int = 3, days: int = 30) -> list[Bot]:
    """Bots with trades on the candles, hourly snapshots, decisions, balances."""
    strategy = StrategyFactory(
        name="Trend follower", markets=["BTC/USDT", "ETH/USDT"], timeframe="4h"
    )
    candles = {
        "BTC/USDT": seed_candles(strategy, "BTC/USDT", Decimal("58000"), days=days, seed=1),
        "ETH/USDT": seed_candles(strategy, "ETH/USDT", Decimal("3100"), days=days, seed=2),
    }
    credential = CredentialFactory(owner=user, label="Paper account", exchange_id="paper")
    Balance.objects.create(
        credential=credential, currency="USDT", free=Decimal("6512.40"),
        total=Decimal("6512.40"), synced_at=timezone.now(),
    )  # fmt: skip
    Balance.objects.create(
        credential=credential, currency="BTC", free=Decimal("0.04113"),
        total=Decimal("0.04113"), synced_at=timezone.now(),
    )  # fmt: skip
    made = []
    names = ["BTC trend", "ETH swing", "Old experiment", "Majors", "Night shift"]
    for index in range(bots):
        market = "BTC/USDT" if index % 2 == 0 else "ETH/USDT"
        allocation = Decimal(1000 * (index + 1))
        bot = BotFactory(
            owner=user, credential=credential, strategy=strategy, name=names[index % 5],
            markets=[market], allocation=allocation,
            status=Bot.Status.STOPPED if index == 2 else Bot.Status.ACTIVE,
        )  # fmt: skip
        made.append(_trade(bot, candles[market], allocation, seed=index))
    return made


def _trade(bot: Bot, candles: list[Candle], allocation: Decimal, *, seed: int) -> Bot:
    rng = random.Random(seed)
    cash, amount, cost_basis, realised, fees = (
        allocation,
        Decimal(0),
        Decimal(0),
        Decimal(0),
        Decimal(0),
    )
    snapshots, peak, deepest = [], allocation, Decimal(0)
    for i, candle in enumerate(candles):
        price = candle.close
        if i % 9 == 3 and amount == 0:
            spend = (cash * Decimal("0.6")).quantize(Q)
            qty = (spend / price).quantize(Decimal("0.00001"))
            fee = (qty * price * Decimal("0.001")).quantize(Q)
            _fill(bot, candle.open_time + timedelta(hours=1), "buy", qty, price, fee, i)
            cash -= qty * price + fee
            amount, cost_basis, fees = qty, qty * price, fees + fee
        elif i % 9 == 7 and amount > 0 and rng.random() < 0.9:
            fee = (amount * price * Decimal("0.001")).quantize(Q)
            _fill(bot, candle.open_time + timedelta(hours=2), "sell", amount, price, fee, i)
            cash += amount * price - fee
            realised += amount * price - cost_basis
            amount, cost_basis, fees = Decimal(0), Decimal(0), fees + fee
        equity = cash + amount * price
        peak = max(peak, equity)
        deepest = max(deepest, (peak - equity) / peak)
        for hour in range(4):
            snapshots.append(
                EquitySnapshot(
                    bot=bot, taken_at=slot_of(candle.open_time + timedelta(hours=hour)),
                    equity=equity, cash=cash, realised_pnl=realised, fees_paid=fees,
                    unrealised_pnl=amount * price - cost_basis,
                )
            )  # fmt: skip
        if i % 6 == 0:
            signal = Signal.objects.filter(
                strategy=bot.strategy, market=bot.markets[0], period=candle.open_time
            ).first() or SignalFactory(
                strategy=bot.strategy, market=bot.markets[0], period=candle.open_time,
                action="buy" if i % 9 == 3 else "hold",
            )  # fmt: skip
            decision = Decision.objects.create(
                bot=bot, signal=signal, outcome="executed" if i % 9 == 3 else "ignored",
                reason="" if i % 9 == 3 else "hold", message="" if i % 9 == 3 else "The strategy says hold.",
            )  # fmt: skip
            Decision.objects.filter(pk=decision.pk).update(created_at=candle.open_time)
    EquitySnapshot.objects.bulk_create(snapshots, ignore_conflicts=True)
    last = candles[-1].close
    if amount:
        Position.objects.create(
            bot=bot, market=bot.markets[0], amount=amount, avg_entry=cost_basis / amount,
            mark_price=last, marked_at=timezone.now(),
        )  # fmt: skip
    Bot.objects.filter(pk=bot.pk).update(
        cash=cash, equity=cash + amount * last, realised_pnl=realised,
        unrealised_pnl=amount * last - cost_basis, fees_paid=fees, max_drawdown=deepest,
        peak_equity=peak, marked_at=timezone.now(),
    )  # fmt: skip
    bot.refresh_from_db()
    return bot


def hold(bot: Bot, market: str, amount: Decimal, avg_entry: Decimal) -> Position:
    """Give ``bot`` an open position in ``market`` (if it has none), bought from its cash
    and marked at the market's last stored close, as a sync would have left it."""
    held = bot.positions.filter(market=market, amount__gt=0).first()
    if held is not None:
        return held
    mark = (
        Candle.objects.filter(market=market, exchange_id=bot.strategy.exchange_id)
        .order_by("-open_time")
        .values_list("close", flat=True)
        .first()
    ) or avg_entry
    position = Position.objects.create(
        bot=bot, market=market, amount=amount, avg_entry=avg_entry, mark_price=mark,
        marked_at=timezone.now(),
    )  # fmt: skip
    Bot.objects.filter(pk=bot.pk).update(
        cash=bot.cash - amount * avg_entry,
        equity=bot.equity - amount * avg_entry + amount * mark,
        unrealised_pnl=bot.unrealised_pnl + (mark - avg_entry) * amount,
    )
    bot.refresh_from_db()
    return position


def _fill(
    bot: Bot, when: datetime, side: str, qty: Decimal, price: Decimal, fee: Decimal, n: int
) -> None:
    order = Order.objects.create(
        bot=bot, credential=bot.credential, exchange_id="paper", market=bot.markets[0],
        side=side, amount=qty, price=price, client_order_id=f"oc-{bot.pk.hex[:8]}-{n}",
        exchange_order_id=f"{bot.pk.hex[:6]}{n:06d}", status=Order.Status.CLOSED,
        filled=qty, average=price, cost=qty * price,
    )  # fmt: skip
    Order.objects.filter(pk=order.pk).update(created_at=when)
    Fill.objects.create(
        order=order, credential=bot.credential, trade_id=f"{bot.pk.hex[:6]}-{n}", amount=qty,
        price=price, fee=fee, fee_currency="USDT", taken_at=when,
    )  # fmt: skip


def seed_backtest(strategy: Strategy, trades: list[tuple[int, str]]) -> Backtest:
    """A finished backtest on SOL/USDT (a market no seeded bot trades, so its candles stay
    off the bot pages' charts) with ``trades`` as (candle index, side) in its log."""
    closes = [42000 + 3000 * math.sin(i / 15) + 40 * i for i in range(180)]
    store_rows(rows_from_closes(closes), exchange_id=strategy.exchange_id, market="SOL/USDT")
    # Its track record on the real history, as the catalogue and strategy page show it.
    stats = {"total_return": "0.784", "cagr": "0.232", "max_drawdown": "0.183",
             "calmar": "1.27", "exposure": "0.285", "trades": 206}  # fmt: skip
    held = {**stats, "total_return": "2.114", "max_drawdown": "0.344", "exposure": "1"}
    TrackRecord.objects.create(
        strategy=strategy, market=strategy.markets[0], timeframe=strategy.timeframe,
        kind=strategy.kind, params=strategy.params, source="Binance spot candles",
        start=START, end=START + timedelta(days=1000), candles=6000, strategy_stats=stats,
        holding_stats=held, yearly=[["2024", "0.322", "0.425"]], computed_at=timezone.now(),
    )  # fmt: skip
    return BacktestFactory(
        strategy=strategy,
        market="SOL/USDT",
        trade_log=[
            [
                int((START + i * timedelta(hours=4)).timestamp() * 1000),
                side,
                f"{closes[i]:.2f}",
                "0.1",
            ]
            for i, side in trades
        ],
    )
