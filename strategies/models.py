"""Strategies, their market data, runs, signed signals, outcomes and backtests.

Fields, choices, constraints and cheap properties only: the work happens in
the modules named after it (``runs``, ``signing``, ``backtest`` …).
"""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from sealed.fields import SealedFieldsMixin, VaultField

# Prices and volumes as Binance publishes them (8 decimals) with room to spare.
PRICE_DIGITS, PRICE_PLACES = 30, 12
# Backtest statistics: ratios that may be large (CAGR of a short lucky run).
RATIO_DIGITS, RATIO_PLACES = 24, 8


def price_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, **kwargs)


def ratio_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=RATIO_DIGITS, decimal_places=RATIO_PLACES, **kwargs)


def share_field() -> models.DecimalField:
    """A share between 0 and 1, to the four places a signal is signed with."""
    return models.DecimalField(
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )


def new_nonce() -> str:
    return secrets.token_hex(16)


class Candle(models.Model):
    """One OHLCV candle, stored once per exchange, market, timeframe and open time."""

    exchange_id = models.CharField(max_length=40)
    market = models.CharField(max_length=30)
    timeframe = models.CharField(max_length=5)
    open_time = models.DateTimeField()
    open = price_field()
    high = price_field()
    low = price_field()
    close = price_field()
    volume = price_field()

    class Meta:
        ordering = ["exchange_id", "market", "timeframe", "open_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["exchange_id", "market", "timeframe", "open_time"],
                name="candle_once_per_period",
            ),
            models.CheckConstraint(
                condition=models.Q(low__gt=0)
                & models.Q(low__lte=models.F("open"))
                & models.Q(low__lte=models.F("close"))
                & models.Q(high__gte=models.F("open"))
                & models.Q(high__gte=models.F("close"))
                & models.Q(volume__gte=0),
                name="candle_prices_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_id} {self.market} {self.timeframe} {self.open_time:%Y-%m-%d %H:%M}"


class CandleGap(models.Model):
    """Candles missing between two stored ones of a market (or before its first one).

    ``permanent``: the exchange itself was asked for the window and skipped it
    (a maintenance halt, a market not listed yet); it will never be filled, so
    fetching does not ask for it again.
    """

    exchange_id = models.CharField(max_length=40)
    market = models.CharField(max_length=30)
    timeframe = models.CharField(max_length=5)
    # Open times of the first and last missing candle.
    first_missing = models.DateTimeField()
    last_missing = models.DateTimeField()
    candles = models.PositiveIntegerField()
    permanent = models.BooleanField(default=False)
    found_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange_id", "market", "timeframe", "first_missing"]
        constraints = [
            models.UniqueConstraint(
                fields=["exchange_id", "market", "timeframe", "first_missing"],
                name="candle_gap_once",
            ),
            models.CheckConstraint(
                condition=models.Q(last_missing__gte=models.F("first_missing"))
                & models.Q(candles__gte=1),
                name="candle_gap_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.exchange_id} {self.market} {self.timeframe}: {self.candles} missing "
            f"from {self.first_missing:%Y-%m-%d %H:%M}"
        )


class Strategy(SealedFieldsMixin, models.Model):
    """A model that trades a list of markets, and the key pair that signs its signals."""

    class Risk(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    # The slug is bound into the private key's encryption: it never changes.
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=40, help_text="Decision model from the registry.")
    exchange_id = models.CharField(
        max_length=40, default="paper", help_text="Where its market data comes from."
    )
    markets = models.JSONField(default=list, help_text='Symbols, e.g. ["BTC/USDT", "ETH/USDT"].')
    timeframe = models.CharField(max_length=5, default="4h")
    interval_minutes = models.PositiveIntegerField(
        default=240, validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)]
    )
    params = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    risk = models.CharField(max_length=10, choices=Risk.choices, default=Risk.MEDIUM)
    # Hex of the raw 32-byte Ed25519 public key: shown to everybody.
    public_key = models.CharField(max_length=64)
    private_key = VaultField(bind=("slug",))
    keys_rotated_at = models.DateTimeField(null=True, blank=True)
    # Seconds a bot may act on a signal after it was signed (two default intervals).
    max_signal_age = models.PositiveIntegerField(
        default=2 * 240 * 60, validators=[MinValueValidator(60)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "strategies"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Strategy {self.slug} {self.kind}>"

    def clean(self) -> None:
        # Start-up cost: the library loads numpy, and models load in every process.
        from strategies.library import validate_definition

        validate_definition(
            kind=self.kind, params=self.params, markets=self.markets, timeframe=self.timeframe
        )


class StrategyRun(models.Model):
    """One scan of a strategy's markets: what was looked at, emitted and what failed."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Some markets failed"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        COMMAND = "command", "Command"
        ADMIN = "admin", "Admin"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    markets_scanned = models.JSONField(default=list, blank=True)
    signals_emitted = models.PositiveIntegerField(default=0)
    # Markets whose period another run had already signed: not errors.
    already_emitted = models.JSONField(default=list, blank=True)
    # [{"market": ..., "error": ...}]: short, never a secret.
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["strategy", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.strategy_id} run at {self.started_at:%Y-%m-%d %H:%M}"


class Signal(models.Model):
    """A signed decision for one market and one period; bots verify before acting."""

    class Action(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"
        HOLD = "hold", "Hold"
        # Hold ``fraction`` of the allocation's equity in the market (strategies.sizing).
        TARGET = "target", "Target"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="signals")
    run = models.ForeignKey(StrategyRun, on_delete=models.PROTECT, related_name="signals")
    market = models.CharField(max_length=30)
    action = models.CharField(max_length=6, choices=Action.choices)
    fraction = share_field()
    confidence = share_field()
    # Open time of the last closed candle the decision was made on.
    period = models.DateTimeField()
    # The close of that candle, the price the decision was made at: fills are
    # measured against it (slippage). Not signed: bots never act on it.
    reference_price = price_field(null=True, blank=True)
    # The strategy's measured cost of a trade (fees and slippage, a share of its
    # value, ``selectors.cost_estimate``) when the signal was made: it sets the
    # rebalance band of a target (``sizing.rebalance_band``). Signed when set.
    cost = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField()
    nonce = models.CharField(max_length=32, unique=True, default=new_nonce)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "market", "period"], name="one_signal_per_period"
            ),
            models.CheckConstraint(
                condition=models.Q(fraction__gte=0, fraction__lte=1)
                & models.Q(confidence__gte=0, confidence__lte=1),
                name="signal_shares_between_0_and_1",
            ),
        ]
        indexes = [models.Index(fields=["strategy", "market", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.fraction} {self.market} @ {self.period:%Y-%m-%d %H:%M}"


# A fill (and its outcome) is a buy or a sell, also of a target signal; the old
# choices are kept as they were so the column does not change.
FILL_SIDES = [choice for choice in Signal.Action.choices if choice[0] != Signal.Action.TARGET]


class SignalFill(models.Model):
    """A fill the trading side reported for a signal (any bot's order)."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="fills")
    # The exchange's trade id when known: the same fill reported twice counts once.
    fill_id = models.CharField(max_length=100, blank=True)
    # The order the fill belongs to and the amount it asked for, when the trading
    # side says: what share of what was ordered got filled.
    order_ref = models.CharField(max_length=64, blank=True)
    ordered_amount = price_field(null=True, blank=True)
    side = models.CharField(max_length=4, choices=FILL_SIDES)
    amount = price_field()
    price = price_field()
    fee = price_field()
    filled_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filled_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["signal", "fill_id"],
                condition=~models.Q(fill_id=""),
                name="fill_reported_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} @ {self.price}"


class SignalOutcome(models.Model):
    """What a signal realised once traded: average fill, fees, and its return.

    A buy (or sell) closes at the next filled signal of the opposite side on the
    same market; its return is ``direction * (exit / entry - 1) - fee rates``.
    """

    signal = models.OneToOneField(
        Signal, on_delete=models.CASCADE, primary_key=True, related_name="outcome"
    )
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="outcomes")
    market = models.CharField(max_length=30)
    side = models.CharField(max_length=4, choices=FILL_SIDES)
    fills = models.PositiveIntegerField(default=0)
    amount = price_field(default=Decimal(0))
    notional = price_field(default=Decimal(0))
    fees = price_field(default=Decimal(0))
    average_price = price_field(default=Decimal(0))
    first_filled_at = models.DateTimeField()
    last_filled_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        Signal, on_delete=models.SET_NULL, null=True, blank=True, related_name="closed_outcomes"
    )
    exit_price = price_field(null=True, blank=True)
    realised_return = ratio_field(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-first_filled_at"]
        indexes = [models.Index(fields=["strategy", "market", "first_filled_at"])]

    def __str__(self) -> str:
        return f"outcome of {self.signal_id}"

    @property
    def fee_rate(self) -> Decimal:
        return self.fees / self.notional if self.notional else Decimal(0)


class ModelState(models.Model):
    """A learned model's fitted parameters, one version per retraining.

    Plain JSON numbers, never a pickle: a row someone could write cannot run code.
    """

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="model_states")
    market = models.CharField(max_length=30)
    version = models.PositiveIntegerField()
    trained_at = models.DateTimeField()
    # Open times of the first and last candle the fit saw (labels included).
    data_start = models.DateTimeField()
    data_end = models.DateTimeField()
    rows = models.PositiveIntegerField()
    # The refit time on the fixed clock (``timeframes.refit_anchor``) this fit serves;
    # None for fits made before that clock.
    fitted_for = models.DateTimeField(null=True, blank=True)
    fitted = models.JSONField()
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["strategy", "market", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "market", "version"], name="model_state_version_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.strategy_id} {self.market} v{self.version}"


class Backtest(models.Model):
    """A strategy replayed over stored candles of one market, with its statistics."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="backtests")
    # None: an official backtest shown to everybody; else only its requester sees it.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="backtests",
    )
    market = models.CharField(max_length=30)
    timeframe = models.CharField(max_length=5)
    # Whose candles it replays: "" for the strategy's own exchange, else an exchange
    # id whose history is stored, not fetched (``binance``: the shipped real history).
    exchange_id = models.CharField(max_length=40, blank=True, default="")
    # What ran, frozen: a later change of the strategy does not rewrite history.
    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    capital = price_field()
    fee_rate = models.DecimalField(max_digits=8, decimal_places=6)
    slippage_rate = models.DecimalField(max_digits=8, decimal_places=6)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=40, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    candles = models.PositiveIntegerField(default=0)
    final_equity = price_field(null=True, blank=True)
    total_return = ratio_field(null=True, blank=True)
    cagr = ratio_field(null=True, blank=True)
    max_drawdown = ratio_field(null=True, blank=True)
    sharpe = ratio_field(null=True, blank=True)
    win_rate = ratio_field(null=True, blank=True)
    exposure = ratio_field(null=True, blank=True)
    trades = models.PositiveIntegerField(default=0)
    # [[epoch ms, equity, drawdown], …] thinned to a few hundred points for charts.
    curve = models.JSONField(default=list, blank=True)
    # [[epoch ms, "buy"|"sell", "price", "amount"], …]: the trades the replay made,
    # oldest first (the newest ``MAX_TRADE_LOG`` of them), for the price chart's markers.
    trade_log = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["strategy", "status", "-finished_at"])]

    def __str__(self) -> str:
        return f"{self.strategy_id} {self.market} {self.start:%Y-%m-%d}-{self.end:%Y-%m-%d}"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def data_exchange(self) -> str:
        return self.exchange_id or self.strategy.exchange_id

    def clean(self) -> None:
        if self.start and self.end and self.start >= self.end:
            raise ValidationError("A backtest must start before it ends.")


class TrackRecord(models.Model):
    """A strategy's official walk-forward backtest on the real history shipped with the
    project (``strategies/data``), with buy-and-hold over the same candles beside it.

    Statistics are stored as decimal strings in JSON: ``total_return``, ``cagr``,
    ``max_drawdown``, ``calmar``, ``exposure`` (``None`` where undefined), ``trades``.
    """

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="track_records")
    market = models.CharField(max_length=30)
    timeframe = models.CharField(max_length=5)
    # The settings it ran with: a record whose kind or params differ from the
    # strategy's is stale and recomputed.
    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=200)
    start = models.DateTimeField()
    end = models.DateTimeField()
    candles = models.PositiveIntegerField()
    strategy_stats = models.JSONField()
    holding_stats = models.JSONField()
    # [[year, strategy return, buy-and-hold return], ...] as decimal strings.
    yearly = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["strategy", "market"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "market"], name="track_record_per_market")
        ]

    def __str__(self) -> str:
        return f"{self.strategy_id} {self.market} {self.start:%Y-%m-%d}-{self.end:%Y-%m-%d}"
