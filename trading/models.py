from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, overload

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.expressions import Combinable

# What a money column accepts on assignment; reads are always Decimal (or None when nullable).
MoneyInput = str | float | Decimal | Combinable


@overload
def money_field(
    *, null: Literal[False] = False, **kwargs: Any
) -> models.DecimalField[MoneyInput, Decimal]: ...


@overload
def money_field(
    *, null: Literal[True], **kwargs: Any
) -> models.DecimalField[MoneyInput | None, Decimal | None]: ...


def money_field(*, null: bool = False, **kwargs: Any) -> models.DecimalField[Any, Any]:
    """A money column: 30 digits, 12 after the point, the same everywhere.

    A function (not a field subclass) so migrations keep seeing a plain DecimalField;
    the overloads give mypy the nullable/non-nullable read type a `**dict` would lose.
    """
    return models.DecimalField(max_digits=30, decimal_places=12, null=null, **kwargs)


class RateWindow(models.Model):
    """Units spent in one fixed window of a shared budget (embedded default only)."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField()
    used = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="unique_rate_window")
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start}: {self.used}"


class Bot(models.Model):
    """Trades one strategy's signals on one of the owner's exchange keys."""

    # Not columns: filled in by trading.selectors for the pages that list bots.
    last_decision: Decision | None
    next_signal_at: datetime | None
    pnl: Decimal
    card_html: str  # trading.cards: the dashboard's rendered card

    class Status(models.TextChoices):
        ACTIVE = "active", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"
        ERROR = "error", "Stopped by an error"

    class Quote(models.TextChoices):
        USDT = "USDT", "USDT"
        USDC = "USDC", "USDC"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bots"
    )
    credential = models.ForeignKey(
        "vault.ExchangeCredential", on_delete=models.PROTECT, related_name="bots"
    )
    strategy = models.ForeignKey(
        "strategies.Strategy", on_delete=models.PROTECT, related_name="bots"
    )
    name = models.CharField(max_length=80)
    markets = models.JSONField(default=list)
    quote_currency = models.CharField(max_length=4, choices=Quote.choices)
    allocation = money_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=300, blank=True)
    # The bot's book (trading.pnl.Book), rebuilt from its fills at every sync.
    cash = money_field(default=Decimal(0))
    realised_pnl = money_field(default=Decimal(0))
    unrealised_pnl = money_field(default=Decimal(0))
    fees_paid = money_field(default=Decimal(0))
    # Fees in a third currency (BNB …) no price was found for, {currency: "amount"}:
    # left out of fees_paid and the result, and the pages say so.
    unvalued_fees = models.JSONField(default=dict, blank=True)
    equity = money_field(default=Decimal(0))
    peak_equity = money_field(default=Decimal(0))
    max_drawdown = models.DecimalField(max_digits=10, decimal_places=8, default=Decimal(0))
    marked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(allocation__gt=0), name="bot_allocation_positive")
        ]
        indexes = [models.Index(fields=["strategy", "status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def result(self) -> Decimal:
        """What the bot made after fees: its equity against what it was given.

        Realised plus unrealised PnL leave fees paid in the quote currency out
        (``trading.pnl`` keeps them apart), so a bot that only paid fees would
        show 0 there; the equity has them taken off.
        """
        return self.equity - self.allocation


class Position(models.Model):
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="positions")
    market = models.CharField(max_length=40)
    amount = money_field(default=Decimal(0))
    avg_entry = money_field(default=Decimal(0))
    # The price the bot's book was last marked at for this market, and when: the same
    # one its equity and unrealised PnL hold (trading.sync._store_book), so the
    # positions' figures add up to the bot's. None until the first mark.
    mark_price = money_field(null=True, blank=True)
    marked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "market"], name="unique_bot_position")
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.market}"

    @property
    def value(self) -> Decimal | None:
        """What the position is worth in the quote currency at its mark."""
        return None if self.mark_price is None else self.amount * self.mark_price

    @property
    def unrealised(self) -> Decimal | None:
        return None if self.mark_price is None else (self.mark_price - self.avg_entry) * self.amount

    @property
    def unrealised_fraction(self) -> Decimal | None:
        """The unrealised PnL against what the position cost (average entry)."""
        if self.mark_price is None or not self.avg_entry:
            return None
        return self.mark_price / self.avg_entry - 1


class Decision(models.Model):
    """What a bot did with one signal: exactly one per (bot, signal)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "In progress"
        EXECUTED = "executed", "Executed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="decisions")
    signal = models.ForeignKey(
        "strategies.Signal", on_delete=models.PROTECT, related_name="decisions"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    reason = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # A transient exchange error before any order: tried again from then on,
    # while the signal is fresh.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "signal"], name="one_decision_per_bot_signal")
        ]
        indexes = [
            models.Index(fields=["outcome", "created_at"]),
            models.Index(fields=["outcome", "next_attempt_at"]),
            # A bot's page reads its newest decisions: without this the whole history is sorted.
            models.Index(fields=["bot", "created_at", "id"], name="decision_bot_created"),
            # A bot's newest decided decision (its health, on every page that lists bots):
            # without this each bot's whole history is read and sorted by decided_at.
            models.Index(fields=["bot", "decided_at"], name="decision_bot_decided"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.reason}"


class Order(models.Model):
    """An order as we know it. Written, with its client order id, before it is sent."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        UNKNOWN = "unknown", "Sent; waiting for the exchange to confirm"
        OPEN = "open", "Open"
        CLOSED = "closed", "Filled"
        CANCELED = "canceled", "Cancelled"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    FINAL = (Status.CLOSED, Status.CANCELED, Status.REJECTED, Status.EXPIRED)

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="orders")
    decision = models.OneToOneField(
        Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="order"
    )
    credential = models.ForeignKey(
        "vault.ExchangeCredential", on_delete=models.PROTECT, related_name="orders"
    )
    exchange_id = models.CharField(max_length=40)
    market = models.CharField(max_length=40)
    side = models.CharField(max_length=4, choices=[("buy", "Buy"), ("sell", "Sell")])
    type = models.CharField(max_length=10, default="market")
    amount = money_field()
    price = money_field(null=True, blank=True)
    client_order_id = models.CharField(max_length=36, unique=True)
    # NULL (not "") until the exchange names it, so the unique constraint skips it.
    exchange_order_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    filled = money_field(default=Decimal(0))
    average = money_field(null=True, blank=True)
    cost = money_field(default=Decimal(0))
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    lookups = models.PositiveIntegerField(default=0)
    # Lookups of an order in doubt that failed (timeout, clock skew, outage).
    lookup_failures = models.PositiveIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # One worker at a time moves an order on: it holds the row until this time.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Quote (buy, fee included) or base (sell) the order ties up until it is settled.
    reserved = money_field(default=Decimal(0))
    # Final on the exchange and every fill stored: nothing left to do.
    settled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set explicitly by every QuerySet.update() (auto_now only acts on save()).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "exchange_order_id"],
                condition=Q(exchange_order_id__isnull=False),
                name="unique_exchange_order",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["settled", "next_attempt_at"]),
            models.Index(fields=["bot", "created_at", "id"], name="order_bot_created"),
            # The history's orders across all bots: the newest page off the account's
            # index instead of sorting every order (as Fill's (credential, taken_at, id)).
            models.Index(
                fields=["credential", "created_at", "id"], name="order_credential_created"
            ),
            # A decision's order (the feeds join it): only the orders that have one.
            # The one-to-one's own unique index holds every order without a decision
            # under NULL, so once SQLite's ANALYZE has seen mostly such orders (sells of
            # a stop-and-sell) it takes that index for ~all rows and scans the orders
            # on every decision joined (60 ms on the dashboard at 10,000 orders).
            models.Index(
                fields=["decision"],
                condition=Q(decision__isnull=False),
                name="order_with_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.market} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class Fill(models.Model):
    """One trade of an order, unique on the exchange's trade id: re-syncs add nothing."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    # The order's bot, copied (it never changes): one bot's history and book read
    # its fills off their own index instead of walking the account's through orders.
    # Filled in by ``save()`` from the order; bulk paths must set it (NOT NULL).
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="fills")
    credential = models.ForeignKey(
        "vault.ExchangeCredential", on_delete=models.PROTECT, related_name="fills"
    )
    trade_id = models.CharField(max_length=100)
    amount = money_field()
    price = money_field()
    fee = money_field(default=Decimal(0))
    fee_currency = models.CharField(max_length=20, blank=True)
    # A fee in a third currency valued in the order's quote currency when the fill was
    # stored (``trading.fees``); null for base/quote fees and when no price was found.
    fee_value = money_field(null=True, blank=True)
    taken_at = models.DateTimeField()
    # Applied to the bot's stored book (``trading.sync.update_book``): books are
    # updated from new fills only, never replayed from all of them per sync.
    booked = models.BooleanField(default=False)

    class Meta:
        ordering = ["taken_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["credential", "trade_id"], name="unique_exchange_trade")
        ]
        # The history page and its export read an account's fills newest first.
        # (…, id): pages order by (time, id) so equal times page stably; PostgreSQL
        # then reads the newest rows straight off the index instead of sorting.
        indexes = [
            models.Index(fields=["credential", "taken_at", "id"], name="fill_credential_taken"),
            models.Index(fields=["bot", "taken_at", "id"], name="fill_bot_taken"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} @ {self.price}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every creator passes the order it just loaded, so this reads no row.
        if self.bot_id is None:
            self.bot_id = self.order.bot_id
        super().save(*args, **kwargs)


class Balance(models.Model):
    """The account's balances at the last sync, per currency."""

    credential = models.ForeignKey(
        "vault.ExchangeCredential", on_delete=models.CASCADE, related_name="balances"
    )
    currency = models.CharField(max_length=20)
    free = money_field(default=Decimal(0))
    used = money_field(default=Decimal(0))
    total = money_field(default=Decimal(0))
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["credential", "currency"], name="unique_balance")
        ]

    def __str__(self) -> str:
        return f"{self.total} {self.currency}"


class ActivityIncident(models.Model):
    """Traded volume far above what the account's bots hold: alerted once per incident."""

    credential = models.ForeignKey(
        "vault.ExchangeCredential", on_delete=models.CASCADE, related_name="incidents"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    volume_24h = money_field()
    position_size = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential"],
                condition=Q(closed_at__isnull=True),
                name="one_open_incident_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"Irregular activity on {self.credential_id}"


class EquitySnapshot(models.Model):
    """A bot's book at one moment, written on a schedule: the equity and drawdown charts."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField()
    equity = money_field()
    cash = money_field()
    realised_pnl = money_field(default=Decimal(0))
    unrealised_pnl = money_field(default=Decimal(0))
    fees_paid = money_field(default=Decimal(0))

    class Meta:
        ordering = ["taken_at"]
        # Also the (bot, taken_at) index the charts read through; a re-run of the
        # schedule within the same slot adds nothing.
        constraints = [
            models.UniqueConstraint(fields=["bot", "taken_at"], name="one_snapshot_per_bot_time")
        ]

    def __str__(self) -> str:
        return f"{self.equity} at {self.taken_at:%Y-%m-%d %H:%M}"
