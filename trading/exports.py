"""CSV of the user's fills for tax tools: streamed row by row, memory stays flat."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC
from decimal import Decimal

from django.db.models import QuerySet

from trading.models import Fill

COLUMNS = [
    "Time (UTC)",
    "Market",
    "Side",
    "Amount",
    "Base asset",
    "Price",
    "Cost",
    "Quote asset",
    "Fee",
    "Fee currency",
    "Order ID",
    "Trade ID",
    "Bot",
]
FIELDS = (
    "taken_at", "order__market", "order__side", "amount", "price", "fee", "fee_currency",
    "order__exchange_order_id", "order__client_order_id", "trade_id", "order__bot__name",
)  # fmt: skip


def plain(value: Decimal) -> str:
    """An exact decimal without exponent or padding zeros: 0.0166, 60098.28, 0."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Line:
    """csv.writer writes into this and we hand the line straight to the response."""

    def write(self, value: str) -> str:
        return value


def fill_rows(fills: QuerySet[Fill], *, chunk_size: int = 2000) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    rows = fills.values_list(*FIELDS).iterator(chunk_size=chunk_size)
    for taken_at, market, side, amount, price, fee, fee_ccy, ex_id, client_id, trade, bot in rows:
        base, _, quote = market.partition("/")
        yield writer.writerow(
            [
                taken_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                market,
                side,
                plain(amount),
                base,
                plain(price),
                plain(amount * price),
                quote,
                plain(fee),
                fee_ccy,
                ex_id or client_id,
                trade,
                bot,
            ]
        )
