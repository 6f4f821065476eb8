"""Whether a bot can actually trade, and what to do when it cannot.

"Running" on a page must mean the next signal can become an order. A bot whose
key is disabled or refused, whose account ran out of funds, or whose allocation
cannot reach the market's minimum order is *blocked*, with the reason and the
fix, everywhere it is shown (dashboard, bot list, bot page: one include,
``templates/trading/_bot_status.html``).

``bot_health`` reads only the bot, its credential and what ``with_health``
annotated on the queryset, so a page with many bots runs the same queries as a
page with one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from strategies.models import Strategy
from strategies.schedules import RUN_PREFIX, first_run_at, run_schedule_name
from trading.models import Bot, Decision
from vault.exchanges import placement_unavailable
from vault.models import ExchangeCredential

# The smallest order value (quote units) per exchange where ccxt's markets are
# not at hand without a network call. Binance's NOTIONAL filter is 5 for the
# USDT/USDC markets we trade, Binance US and Kraken ask for about 10, Bitvavo
# and One Trading for 5 EUR; the paper exchange copies Binance.
MIN_ORDER_VALUE = {
    "paper": Decimal("5"),
    "binance": Decimal("5"),
    "binanceus": Decimal("10"),
    "kraken": Decimal("10"),
    "bitvavo": Decimal("5"),
    "onetrading": Decimal("5"),
}
DEFAULT_MIN_ORDER_VALUE = Decimal("10")
# A strategy's first buy is a fraction of the allocation, and fees and price moves
# come off it: an allocation of 4x the minimum still clears it on a quarter buy.
ALLOCATION_MARGIN = Decimal("4")
INSUFFICIENT_FUNDS = "does not have enough funds"


@dataclass(frozen=True)
class Health:
    state: str  # running | paused | stopped | blocked
    label: str
    reason: str = ""
    fix: str = ""
    fix_url: str = ""

    @property
    def blocked(self) -> bool:
        return self.state == "blocked"


def min_order_value(exchange_id: str) -> Decimal:
    return MIN_ORDER_VALUE.get(exchange_id, DEFAULT_MIN_ORDER_VALUE)


def min_allocation(exchange_id: str, markets: int = 1) -> Decimal:
    """The least allocation whose first order in each of ``markets`` markets the
    exchange accepts (each market trades an equal share of the allocation)."""
    return min_order_value(exchange_id) * ALLOCATION_MARGIN * max(markets, 1)


def with_health(bots: QuerySet[Bot]) -> QuerySet[Bot]:
    """Annotate what ``bot_health`` needs beyond the row: the last decided outcome.

    One correlated subquery per column in the same SELECT: no query per bot.
    """
    last = Decision.objects.filter(bot=OuterRef("pk"), decided_at__isnull=False).order_by(
        "-decided_at"
    )
    return bots.select_related("credential", "strategy").annotate(
        last_outcome=Subquery(last.values("outcome")[:1]),
        last_message=Subquery(last.values("message")[:1]),
    )


def _blocked(reason: str, fix: str, fix_url: str) -> Health:
    return Health("blocked", f"Blocked — {reason}", reason, fix, fix_url)


def _key_problem(bot: Bot) -> Health | None:
    credential = bot.credential
    Status = ExchangeCredential.Status
    if credential.status == Status.DISABLED:
        return _blocked(
            "its exchange key is disabled",
            "Re-enable the key.",
            reverse("vault:detail", args=[credential.pk]),
        )
    if credential.status == Status.INVALID:
        return _blocked(
            "the exchange refused its key",
            "Check the key's permissions and IP list on the exchange, then verify it again.",
            reverse("vault:detail", args=[credential.pk]),
        )
    if credential.status == Status.DELETED:
        return _blocked(
            "its exchange key was deleted",
            "Stop this bot and create one on a working key.",
            reverse("trading:detail", args=[bot.pk]),
        )
    return None


def bot_health(bot: Bot) -> Health:
    """The bot's state as a user must read it. Never queries beyond ``with_health``."""
    if bot.status == Bot.Status.STOPPED:
        return Health("stopped", "Stopped", bot.status_reason)
    problem = _key_problem(bot)
    if problem is not None:
        return problem
    unavailable = placement_unavailable(bot.credential.exchange_id)
    if unavailable:
        return _blocked(
            unavailable,
            "Stop this bot and create one on a key of Binance, Binance US or Kraken.",
            reverse("trading:detail", args=[bot.pk]),
        )
    if bot.status == Bot.Status.ERROR:
        return _blocked(
            bot.status_reason or "an error stopped it",
            "Fix the cause, then resume.",
            reverse("trading:detail", args=[bot.pk]),
        )
    if bot.status == Bot.Status.PAUSED:
        return Health("paused", "Paused", bot.status_reason)
    minimum = min_order_value(bot.credential.exchange_id)
    least = min_allocation(bot.credential.exchange_id, len(bot.markets))
    if bot.allocation < least:
        return _blocked(
            f"its allocation is below what the market's minimum order ({minimum:f} "
            f"{bot.quote_currency}) needs",
            f"Raise the allocation to at least {least:f} {bot.quote_currency}.",
            reverse("trading:detail", args=[bot.pk]) + "#allocation",
        )
    holds = bot.equity - bot.cash
    if bot.cash < minimum and holds < minimum:
        return _blocked(
            "out of funds: what is left is below the market's minimum order",
            "Raise the allocation.",
            reverse("trading:detail", args=[bot.pk]) + "#allocation",
        )
    if getattr(bot, "last_outcome", None) == Decision.Outcome.FAILED and INSUFFICIENT_FUNDS in (
        getattr(bot, "last_message", "") or ""
    ):
        return _blocked(
            "the exchange account is out of funds",
            f"Deposit {bot.quote_currency} on the exchange or lower the allocation.",
            reverse("trading:detail", args=[bot.pk]) + "#allocation",
        )
    return Health("running", "Running")


def next_runs(strategies: Iterable[Strategy], now: datetime | None = None) -> dict[int, datetime]:
    """When each strategy next runs: its schedule's next run (one query for all),
    or, before its schedule exists or when it is overdue, the next candle close."""
    now = now or timezone.now()
    by_name = {run_schedule_name(s): s for s in strategies}
    scheduled = dict(Schedule.objects.filter(name__in=by_name).values_list("name", "next_run"))
    return {s.pk: next_run_at(s, scheduled.get(name), now) for name, s in by_name.items()}


def next_run_at(strategy: Strategy, scheduled: datetime | None, now: datetime) -> datetime:
    """``next_runs`` for one strategy whose schedule's next run is known (``scheduled``,
    None when it has no schedule): that, or the next candle close when it is overdue."""
    return scheduled if scheduled is not None and scheduled > now else first_run_at(strategy, now)


def scheduled_next_run(strategy: str = "strategy") -> Subquery:
    """The next run of the schedule of a row's strategy (``strategy`` is the path to
    it), as a subquery: it rides on a query the page makes anyway instead of being
    one more (read it with ``next_run_at``)."""
    return Subquery(
        Schedule.objects.filter(name=Concat(Value(RUN_PREFIX), OuterRef(f"{strategy}__slug")))
        .order_by()
        .values("next_run")[:1]
    )
