"""Paper accounts, balances, orders, trades and injected faults.

Every write happens with the account row locked (see ``paper.engine``),
so web and worker processes can share one paper account.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q


def money(**kwargs: object) -> models.DecimalField:
    # 12 places hold any step, tick or fee the markets use; 32 digits hold large totals.
    return models.DecimalField(max_digits=32, decimal_places=12, **kwargs)  # type: ignore[arg-type]


class PaperAccount(models.Model):
    # The API key identifies the account (like an exchange, which sees it in clear);
    # the secret is only ever kept as a SHA-256 hash.
    api_key = models.CharField(max_length=128, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    funded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Requests and their weight counted in the current clock minute, for the
    # per-account limiter and the used-weight header.
    rate_minute = models.BigIntegerField(default=0)
    rate_count = models.PositiveIntegerField(default=0)
    rate_weight = models.PositiveIntegerField(default=0)
    # New orders in the current 10-second window (Binance's ORDERS limit).
    order_window = models.BigIntegerField(default=0)
    order_window_count = models.PositiveIntegerField(default=0)
    # Running totals, as the exchange would bill them: requests answered, their
    # weight, and requests refused with a 429 (benchmarks read these).
    requests = models.BigIntegerField(default=0)
    weight = models.BigIntegerField(default=0)
    throttled = models.BigIntegerField(default=0)
    # The first clock minute an open order still has to be evaluated for; null
    # when nothing is open, so a call on an idle account skips the settle query.
    # It may be earlier than needed (costs one query), never later.
    settle_from = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"paper account {self.pk}"


class PaperBalance(models.Model):
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=16)
    free = money(default=Decimal(0))
    used = money(default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "asset"], name="paper_balance_unique_asset"),
            models.CheckConstraint(
                condition=Q(free__gte=0), name="paper_balance_free_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(used__gte=0), name="paper_balance_used_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset} {self.free}+{self.used}"

    @property
    def total(self) -> Decimal:
        return self.free + self.used


class PaperOrder(models.Model):
    class Side(models.TextChoices):
        BUY = "buy"
        SELL = "sell"

    class Type(models.TextChoices):
        MARKET = "market"
        LIMIT = "limit"

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        CANCELED = "canceled"
        EXPIRED = "expired"

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="orders")
    client_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=20)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=6, choices=Type.choices)
    amount = money()
    price = money(null=True, blank=True)  # the limit price; none for market orders
    quote_amount = money(null=True, blank=True)  # a market order sized in quote (quoteOrderQty)
    filled = money(default=Decimal(0))
    cost = money(default=Decimal(0))  # quote value of the fills, fees excluded
    fee = money(default=Decimal(0))
    fee_currency = models.CharField(max_length=16)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # Funds held for the unfilled part, in the quote (buys) or base (sells) asset.
    reserve_asset = models.CharField(max_length=16)
    reserved = money(default=Decimal(0))
    # The first clock minute not yet evaluated for fills.
    next_minute = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_trade_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Reuse rules live in the engine; the database only refuses two open
            # orders with the same client id, whatever happens in code.
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                condition=Q(status="open"),
                name="paper_order_open_client_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="paper_order_account_status"),
            models.Index(fields=["account", "client_order_id"], name="paper_order_client_id"),
        ]

    def __str__(self) -> str:
        return f"paper order {self.pk} {self.side} {self.amount} {self.symbol}"

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class PaperTrade(models.Model):
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="trades")
    order = models.ForeignKey(PaperOrder, on_delete=models.CASCADE, related_name="trades")
    symbol = models.CharField(max_length=20)
    side = models.CharField(max_length=4, choices=PaperOrder.Side.choices)
    price = money()
    amount = money()
    cost = money()
    fee = money()
    fee_currency = models.CharField(max_length=16)
    is_maker = models.BooleanField()
    executed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["account", "executed_at"], name="paper_trade_account_time"),
        ]

    def __str__(self) -> str:
        return f"paper trade {self.pk} {self.side} {self.amount} {self.symbol} @ {self.price}"


class PaperFault(models.Model):
    """A failure armed for an account's next calls (tests and demos)."""

    class Kind(models.TextChoices):
        TIMEOUT = "timeout"
        RATE_LIMIT = "rate_limit"
        SERVER_ERROR = "server_error"
        INSUFFICIENT_FUNDS = "insufficient_funds"
        LOST_REPLY = "lost_reply"

    # By key, not foreign key: a fault can be armed before the account exists.
    api_key = models.CharField(max_length=128, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    method = models.CharField(max_length=40, blank=True)  # blank: any method
    remaining = models.PositiveIntegerField(default=1)
    retry_after = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} x{self.remaining} on {self.method or 'any method'}"
