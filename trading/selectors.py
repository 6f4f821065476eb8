"""Reads for the pages: every function runs a fixed number of queries, whatever the history."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from hashlib import sha256
from typing import Any
from uuid import UUID

from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.db.models import (
    Case,
    Exists,
    ExpressionWrapper,
    F,
    Model,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from accounts.otp import has_two_factor
from strategies.models import Candle, Strategy
from trading.health import next_run_at, scheduled_next_run, with_health
from trading.models import (
    ActivityIncident,
    Balance,
    Bot,
    Decision,
    EquitySnapshot,
    Fill,
    Order,
    Position,
    money_field,
)
from trading.rows import local_get, local_set
from trading.snapshots import SNAPSHOT_MINUTES, slot_of
from vault.models import ExchangeCredential

ZERO = Decimal(0)
CHART_DAYS = 30


def bots_of(user: User) -> QuerySet[Bot]:
    """The user's bots, with what their status needs (trading/health.py)."""
    return with_health(Bot.objects.filter(owner=user))


def bot_list_of(user: User) -> QuerySet[Bot]:
    """The Bots page: bots that can still trade (running, blocked, paused) before the
    stopped ones, newest first within each; one query, sorted by the database."""
    done = Case(When(status=Bot.Status.STOPPED, then=Value(1)), default=Value(0))
    return bots_of(user).order_by(done, "-created_at", "-id")


def bot_of(user: User, bot_id: object) -> Bot:
    """The user's own bot; anyone else's id is a 404."""
    return get_object_or_404(bots_of(user), pk=bot_id)


def decisions_of(bot: Bot) -> QuerySet[Decision]:
    """What the bot page lists of its decisions (``decision_item_state``), newest first;
    their ``bot`` is ``bot`` (``with_bot``), not joined and built again per row."""
    # Ordered on the (bot, created_at) index: the newest page never sorts the whole history.
    return (
        bot.decisions.select_related("signal", "order")
        .only(*RECENT_DECISION_FIELDS)
        .order_by("-created_at", "-id")
    )


def orders_of(bot: Bot) -> QuerySet[Order]:
    """What the bot page lists of its orders (``order_item_state``, the sells of a
    stop-and-sell), newest first; their ``bot`` is ``bot`` (``with_bot``)."""
    return bot.orders.only(*RECENT_ORDER_FIELDS).order_by("-created_at", "-id")


def with_bot(rows: list[Any], bot: Bot) -> list[Any]:
    """``rows`` (the bot's orders or decisions) with their bot set to ``bot``."""
    for row in rows:
        row.bot = bot
    return rows


def order_of(user: User, order_id: object) -> Order:
    return get_object_or_404(
        Order.objects.filter(bot__owner=user).select_related("bot", "decision__signal"),
        pk=order_id,
    )


def decision_of(user: User, decision_id: object) -> Decision:
    return get_object_or_404(
        Decision.objects.filter(bot__owner=user).select_related("bot", "signal", "order"),
        pk=decision_id,
    )


# --- Charts -----------------------------------------------------------------------


def drawdowns(values: list[Decimal]) -> list[Decimal]:
    """Each point's fall from the running peak, as a fraction (0 at a new high)."""
    peak, result = ZERO, []
    for value in values:
        peak = max(peak, value)
        result.append((peak - value) / peak if peak > 0 else ZERO)
    return result


def equity_series(
    points: list[tuple[datetime, Decimal]],
    *,
    now: datetime | None = None,
    current: Decimal | None = None,
) -> dict[str, list[list[Any]]]:
    """``{"equity": [[epoch s, value], …], "drawdown": [[epoch s, -fraction], …]}`` for the charts.

    The live figure ends the curve, so it never lags the snapshot schedule.
    """
    if current is not None and now is not None and (not points or points[-1][0] < now):
        points = [*points, (now, current)]
    values = [v for _, v in points]
    times = [int(t.timestamp()) for t, _ in points]
    return {
        "equity": [[t, f"{v:.2f}"] for t, v in zip(times, values, strict=True)],
        "drawdown": [[t, f"{-d * 100:.2f}"] for t, d in zip(times, drawdowns(values), strict=True)],
    }


def bot_page_of(user: User, bot_id: object) -> Bot:
    """``bot_of`` with what the bot page reads beside the bot, in the same query: its
    strategy schedule's next run and its snapshot of the current slot (the older
    snapshots of its chart are cached per slot: ``bot_equity_series``)."""
    slot = slot_of(timezone.now())
    current = EquitySnapshot.objects.filter(bot=OuterRef("pk"), taken_at__gte=slot).order_by(
        "-taken_at"
    )
    bot = get_object_or_404(
        bots_of(user).annotate(
            scheduled_next_run=scheduled_next_run(),
            slot_taken_at=Subquery(current.values("taken_at")[:1]),
            slot_equity=Subquery(current.values("equity")[:1]),
        ),
        pk=bot_id,
    )
    annotated: Any = bot
    annotated.chart_slot = slot
    bot.next_signal_at = next_run_at(bot.strategy, annotated.scheduled_next_run, timezone.now())
    return bot


def _slot_history(
    key: str, load: Callable[[], list[tuple[datetime, Decimal]]], *, shared: bool = True
) -> dict[str, Any]:
    """A chart's snapshot part, cached under ``key`` (which names its slot): this
    process's copy first (the value is a function of its key until the shared entry
    expires), saving the round trip and unpickling hundreds of points. ``shared``:
    also in the shared cache, for a part that costs more to compute than to fetch."""
    history: dict[str, Any] | None = local_get(key, series=True)
    if history is None and shared:
        history = cache.get(key)
    if history is None:
        rows = load()
        series = equity_series(rows)
        history = {
            **series,
            "peak": str(max((v for _, v in rows), default=ZERO)),
            "deepest": str(max((-Decimal(d) for _, d in series["drawdown"]), default=ZERO)),
            "last": int(rows[-1][0].timestamp()) if rows else None,
        }
        if shared:
            cache.set(key, history, SNAPSHOT_MINUTES * 60)
    local_set(key, history, series=True)
    return history


def _continued(
    history: dict[str, Any], points: list[tuple[datetime, Decimal]]
) -> dict[str, list[list[Any]]]:
    """The cached curve with ``points`` (newer than its last, oldest first) added:
    their drawdowns from the peak so far."""
    series = {"equity": list(history["equity"]), "drawdown": list(history["drawdown"])}
    last, peak = history["last"], Decimal(history["peak"])
    for at, value in points:
        t = int(at.timestamp())
        if last is not None and t <= last:
            continue
        peak = max(peak, value)
        fall = (peak - value) / peak if peak > 0 else ZERO
        series["equity"].append([t, f"{value:.2f}"])
        series["drawdown"].append([t, f"{-fall * 100:.2f}"])
        last = t
    return series


def bot_equity_series(bot: Bot, *, days: int = CHART_DAYS) -> dict[str, list[list[Any]]]:
    """The bot's snapshots over ``days``, then the live figure (``equity_series``).

    ``bot`` comes from ``bot_page_of``: the snapshots before its slot never change, so
    they are read once per slot and bot; the current slot's was read with the bot.
    """
    annotated: Any = bot
    slot: datetime = annotated.chart_slot
    key = f"botseries:{bot.pk}:{days}:{int(slot.timestamp())}"
    history = _slot_history(
        key,
        lambda: list(
            EquitySnapshot.objects.filter(
                bot=bot, taken_at__gte=slot - timedelta(days=days), taken_at__lt=slot
            )
            .order_by("taken_at")
            .values_list("taken_at", "equity")
        ),
        # One short index range: the query costs no more than a shared cache read
        # (on the embedded setup that is a query too).
        shared=False,
    )
    points = []
    if annotated.slot_taken_at is not None:
        points.append((annotated.slot_taken_at, annotated.slot_equity))
    # The live figure ends the curve, as in ``equity_series``.
    points.append((bot.marked_at or timezone.now(), bot.equity))
    return _continued(history, points)


def account_equity_series(
    user: User, bots: list[Bot], *, days: int = CHART_DAYS
) -> tuple[dict[str, list[list[Any]]], Decimal]:
    """The sum of the user's bots per snapshot slot (one grouped query), then the live
    figure; and the curve's deepest fall from its peak (a fraction).

    The snapshot part changes once per slot, so it is cached until the next slot
    (keyed by the bots it sums): the dashboard's most expensive query and its
    hundreds of points are computed once an hour, not on every page or live refresh.
    """
    now = timezone.now()
    ids = sorted(b.pk for b in bots)
    slot = int(slot_of(now).timestamp())
    key = f"accountseries:{user.pk}:{days}:{slot}:" + sha256(repr(ids).encode()).hexdigest()[:16]
    history = _slot_history(
        key,
        lambda: list(
            EquitySnapshot.objects.filter(bot_id__in=ids, taken_at__gte=now - timedelta(days=days))
            .order_by()
            .values("taken_at")
            .annotate(total=Sum("equity"))
            .order_by("taken_at")
            .values_list("taken_at", "total")
        ),
    )
    points = [(now, sum((b.equity for b in bots), ZERO))] if bots else []
    # The live figure ends the curve, as in ``equity_series``.
    series = _continued(history, points)
    # The live point's fall (it may be deeper than the cached part's deepest).
    live = -Decimal(series["drawdown"][-1][1]) if points and series["drawdown"] else ZERO
    return series, max(Decimal(history["deepest"]), live) / 100


def trade_markers(bot: Bot, *, limit: int = 300) -> list[dict[str, Any]]:
    """The bot's newest fills as chart markers (buys below the bar, sells above)."""
    rows = (
        Fill.objects.filter(bot=bot)
        .order_by("-taken_at", "-id")
        .values_list("taken_at", "order__market", "order__side", "price", "amount")[:limit]
    )
    return [
        {"time": int(t.timestamp()), "market": m, "side": side, "price": str(p), "amount": str(a)}
        for t, m, side, p, a in reversed(list(rows))
    ]


def price_candles(bot: Bot, market: str, *, limit: int = 500) -> list[list[Any]]:
    """The strategy's stored candles of ``market``: ``[[epoch s, o, h, l, c], …]`` oldest first."""
    rows = (
        Candle.objects.filter(
            exchange_id=bot.strategy.exchange_id, market=market, timeframe=bot.strategy.timeframe
        )
        .order_by("-open_time")
        .values_list("open_time", "open", "high", "low", "close")[:limit]
    )
    return [
        [int(t.timestamp()), str(o), str(h), str(lo), str(c)] for t, o, h, lo, c in reversed(rows)
    ]


# --- Dashboard ----------------------------------------------------------------------


@dataclass
class Totals:
    equity: Decimal = ZERO
    allocation: Decimal = ZERO
    cash: Decimal = ZERO
    realised: Decimal = ZERO
    unrealised: Decimal = ZERO
    fees: Decimal = ZERO
    max_drawdown: Decimal = ZERO

    @property
    def invested(self) -> Decimal:
        return self.equity - self.cash

    @property
    def pnl(self) -> Decimal:
        """After fees, as ``Bot.result``."""
        return self.equity - self.allocation

    @property
    def pnl_fraction(self) -> Decimal | None:
        return self.pnl / self.allocation if self.allocation else None


@dataclass
class Step:
    label: str
    done: bool
    url_name: str


@dataclass
class Dashboard:
    bots: list[Bot]
    totals: dict[str, Totals]  # per quote currency
    keys: list[ExchangeCredential]
    checklist: list[Step]
    recent_orders: list[Order]
    recent_fills: list[Fill]
    recent_decisions: list[Decision]
    alerts: list[ActivityIncident]
    series: dict[str, list[list[Any]]] = field(default_factory=dict)

    @property
    def checklist_done(self) -> bool:
        return all(step.done for step in self.checklist)


def _with_last_decision(bots: QuerySet[Bot]) -> list[Bot]:
    """The bots with what their cards show: last decision, last decided outcome
    (``bot_health``), positions held and the next run.

    Two correlated subqueries name the decisions (the newest, and the newest decided
    one that ``with_health`` would read outcome and message from) and one query loads
    both: the same figures as ``with_health``'s annotations, with one subquery less.
    """
    latest = Decision.objects.filter(bot=OuterRef("pk")).order_by("-created_at", "-id")
    decided = Decision.objects.filter(bot=OuterRef("pk"), decided_at__isnull=False).order_by(
        "-decided_at"
    )
    rows = list(
        bots.select_related("credential", "strategy")
        # Of the key and the strategy, only what a card and bot_health read: the rest
        # (sealed key material, JSON, timestamps) was most of each row to read and convert.
        .defer(*_all_but("credential", ExchangeCredential, CARD_CREDENTIAL_FIELDS))
        .defer(*_all_but("strategy", Strategy, CARD_STRATEGY_FIELDS))
        .annotate(
            last_decision_id=Subquery(latest.values("pk")[:1]),
            last_decided_id=Subquery(decided.values("pk")[:1]),
            scheduled_next_run=scheduled_next_run(),
        )
        .prefetch_related(
            Prefetch("positions", queryset=Position.objects.filter(amount__gt=0), to_attr="held")
        )
    )
    decisions = (
        Decision.objects.select_related("signal")
        .only(*CARD_DECISION_FIELDS)
        .in_bulk(
            {b.last_decision_id for b in rows if b.last_decision_id}
            | {b.last_decided_id for b in rows if b.last_decided_id}
        )
    )
    # As the bot page says it: the schedule's next run (read with the bots), or the
    # next candle close before the schedule exists or when it is overdue.
    now = timezone.now()
    for bot in rows:
        bot.last_decision = decisions.get(bot.last_decision_id)
        last_decided = decisions.get(bot.last_decided_id)
        # What with_health annotates, for bot_health (typed as with_health's annotation).
        annotated: Any = bot
        annotated.last_outcome = last_decided.outcome if last_decided else None
        annotated.last_message = last_decided.message if last_decided else None
        bot.next_signal_at = next_run_at(bot.strategy, bot.scheduled_next_run, now)
        bot.pnl = bot.result
    listed: list[Bot] = list(rows)
    return listed


def _totals(bots: list[Bot]) -> dict[str, Totals]:
    totals: dict[str, Totals] = {}
    for bot in bots:
        t = totals.setdefault(bot.quote_currency, Totals())
        t.equity += bot.equity
        t.cash += bot.cash
        t.realised += bot.realised_pnl
        t.unrealised += bot.unrealised_pnl
        t.fees += bot.fees_paid
        t.max_drawdown = max(t.max_drawdown, bot.max_drawdown)
        # A stopped bot's result still counts, measured against what it was given.
        t.allocation += bot.allocation
    return totals


def _checklist(
    user: User,
    keys: list[ExchangeCredential],
    bots: list[Bot],
    two_factor: bool | None,
    email_verified: bool | None,
) -> list[Step]:
    real_keys = [k for k in keys if k.exchange_id != "paper"]
    return [
        Step(
            "Verify your email address",
            EmailAddress.objects.filter(user=user, verified=True).exists()
            if email_verified is None
            else email_verified,
            "account_email",
        ),
        Step(
            "Turn on two-factor authentication",
            has_two_factor(user) if two_factor is None else two_factor,
            "accounts:twofa_overview",
        ),
        # A paper account has no IP restriction to set: a paper-only user's checklist
        # would otherwise never be done and stay on the dashboard for good.
        Step("IP whitelist: not needed for a paper account", True, "accounts:ip_whitelist")
        if keys and not real_keys
        else Step(
            "Whitelist our IP addresses on your exchange key",
            bool(real_keys) and all(k.ip_restricted for k in real_keys),
            "accounts:ip_whitelist",
        ),
        Step("Link an exchange key or open a paper account", bool(keys), "vault:link"),
        Step("Create a bot", bool(bots), "trading:create"),
    ]


def _open_alerts(user: User) -> QuerySet[ActivityIncident]:
    return ActivityIncident.objects.filter(credential__owner=user, closed_at__isnull=True)


def _all_but(relation: str, model: type[Model], keep: Iterable[str]) -> list[str]:
    """``relation``'s columns other than its key and ``keep``, for ``defer``."""
    return [
        f"{relation}__{f.name}"
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in keep
    ]


# What a card (trading/cards.py's state, its template) and bot_health read of a bot's
# key and strategy; the strategy's schedule name and first run need slug and timeframe.
CARD_CREDENTIAL_FIELDS = ("label", "status", "exchange_id")
CARD_STRATEGY_FIELDS = ("name", "slug", "exchange_id", "timeframe")
# What a card shows of the bot's last decision (trading/cards.py's state, the card
# template) and what bot_health reads of its last decided one.
CARD_DECISION_FIELDS = (
    "id", "outcome", "message", "created_at",
    "signal", "signal__action", "signal__fraction", "signal__market",
)  # fmt: skip
# A key's sealed material: never shown, so the dashboard does not read it.
SEALED_KEY_FIELDS = ("credential__api_key", "credential__secret", "credential__passphrase")
# What the recent lists and the bot page's lists show (trading/rows.py's states, the
# templates _recent_*.html, _order_item.html, _decision_item.html and the stop-and-sell
# list): their rows join wide models, most of whose columns they never read.
RECENT_ORDER_FIELDS = (
    "id", "created_at", "market", "side", "amount", "status", "bot",
)  # fmt: skip
RECENT_FILL_FIELDS = (
    "id", "taken_at", "amount", "price", "fee", "fee_currency", "order",
    "order__market", "order__side", "order__exchange_order_id", "order__client_order_id",
    "order__bot",
)  # fmt: skip
RECENT_DECISION_FIELDS = (
    "id", "created_at", "outcome", "message", "bot",
    "signal", "signal__action", "signal__market", "signal__fraction",
    "order__id", "order__market", "order__side", "order__amount", "order__filled",
)  # fmt: skip
RECENT_DAYS = 7
DASHBOARD_CHART_DAYS = 30


def dashboard_of(user: User, *, recent: int = 8, two_factor: bool | None = None) -> Dashboard:
    """Everything the dashboard shows, in a fixed number of queries.

    ``two_factor``: whether the user has 2FA, when the request already knows
    (``RequireOTPMiddleware`` checks it for sessions not yet verified).

    "Recent" lists look back ``RECENT_DAYS`` only: each reads a short range of a
    (bot or account, time) index instead of sorting the user's whole history.
    """
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    bots = _with_last_decision(Bot.objects.filter(owner=user).order_by("-created_at"))
    bot_ids = [b.pk for b in bots]
    rows = list(
        ExchangeCredential.objects.filter(owner=user)
        .defer(*(f.removeprefix("credential__") for f in SEALED_KEY_FIELDS))
        .exclude(status=ExchangeCredential.Status.DELETED)
        # Two facts about the user ride on this query (the same on every row, computed
        # once): whether an email address is verified (the checklist) and whether an
        # alert is open; without keys they are asked apart.
        .annotate(
            user_email_verified=Exists(EmailAddress.objects.filter(user=user, verified=True)),
            user_alerts_open=Exists(_open_alerts(user)),
        )
        .prefetch_related(
            Prefetch("balances", queryset=Balance.objects.filter(total__gt=0).order_by("currency"))
        )
        .order_by("created_at")
    )
    keys: list[ExchangeCredential] = list(rows)
    flags = rows[0] if rows else None
    # The user's exchange accounts: their keys, and those of bots on a deleted one.
    accounts = {k.pk for k in keys} | {b.credential_id for b in bots}
    # The recent lists: each row's bot is one of ``bots`` (the filters say so), attached
    # from there rather than joined and built again for every row.
    by_id = {b.pk: b for b in bots}
    recent_orders = list(
        Order.objects.filter(credential_id__in=accounts, bot_id__in=bot_ids, created_at__gte=since)
        .only(*RECENT_ORDER_FIELDS)
        .order_by("-created_at", "-id")[:recent]
    )
    recent_fills = list(
        Fill.objects.filter(credential_id__in=accounts, bot_id__in=bot_ids, taken_at__gte=since)
        .select_related("order")
        .only(*RECENT_FILL_FIELDS)
        .order_by("-taken_at", "-id")[:recent]
    )
    recent_decisions = list(
        Decision.objects.filter(bot_id__in=bot_ids, created_at__gte=since)
        .select_related("signal", "order")
        .only(*RECENT_DECISION_FIELDS)
        .order_by("-created_at", "-id")[:recent]
    )
    for order in recent_orders:
        order.bot = by_id[order.bot_id]
    for decision in recent_decisions:
        decision.bot = by_id[decision.bot_id]
    for fill in recent_fills:
        fill.order.bot = by_id[fill.order.bot_id]
    series, deepest = account_equity_series(user, bots, days=DASHBOARD_CHART_DAYS)
    totals = _totals(bots)
    if len(totals) == 1 and series["drawdown"]:
        # The account's own curve: deeper than any one bot's when they fall together.
        only = next(iter(totals.values()))
        only.max_drawdown = max(only.max_drawdown, deepest)
    return Dashboard(
        bots=bots,
        totals=totals,
        keys=keys,
        checklist=_checklist(
            user, keys, bots, two_factor, flags.user_email_verified if flags else None
        ),
        # Off the (credential, created_at, id) index, as the history's orders: the newest
        # 8 without sorting the week's orders of every bot (a bot trades on its owner's
        # keys only; the bots' filter stays as a guard).
        recent_orders=recent_orders,
        recent_fills=recent_fills,
        recent_decisions=recent_decisions,
        # An alert on a deleted key shows too: without keys listed, ask.
        alerts=list(_open_alerts(user).select_related("credential").order_by("-opened_at"))
        if flags is None or flags.user_alerts_open
        else [],
        series=series,
    )


# --- History ------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilter:
    bot: str = ""
    market: str = ""
    side: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def _filtered(
    qs: QuerySet[Any], f: HistoryFilter, *, prefix: str, time_field: str
) -> QuerySet[Any]:
    if f.bot:
        qs = qs.filter(**{f"{prefix}bot_id": f.bot})
    if f.market:
        qs = qs.filter(**{f"{prefix}market": f.market})
    if f.side:
        qs = qs.filter(**{f"{prefix}side": f.side})
    if f.status:
        qs = qs.filter(**{f"{prefix}status": f.status})
    if f.since:
        qs = qs.filter(**{f"{time_field}__gte": f.since})
    if f.until:
        qs = qs.filter(**{f"{time_field}__lt": f.until})
    return qs


def history_orders(
    user: User, f: HistoryFilter, accounts: Iterable[object] | None = None
) -> QuerySet[Order]:
    """The user's orders newest first.

    ``accounts`` (the user's exchange account ids, if the caller has them): then the
    (credential, created_at, id) index gives the newest page without sorting the
    history. A bot trades on its owner's key only, so this selects the same orders.
    """
    qs = Order.objects.filter(bot__owner=user).select_related("bot")
    if accounts is not None:
        qs = qs.filter(credential_id__in=set(accounts))
    return _filtered(qs, f, prefix="", time_field="created_at").order_by("-created_at", "-id")


def accounts_of(user: User) -> list[UUID]:
    """The ids of the user's exchange accounts (a bot trades on its owner's key only)."""
    return list(ExchangeCredential.objects.filter(owner=user).values_list("pk", flat=True))


def history_fills(
    user: User, f: HistoryFilter, *, accounts: list[UUID] | None = None
) -> QuerySet[Fill]:
    """The user's fills newest first; filtered through the order they belong to.

    Selected by the user's accounts (a bot trades on its owner's key only), so the
    (credential, taken_at) index gives the newest rows without sorting the history.
    ``accounts``: ``accounts_of(user)`` if the caller has read it already.
    """
    if accounts is None:
        accounts = accounts_of(user)
    qs = Fill.objects.filter(credential_id__in=accounts).select_related("order__bot")
    if f.bot:
        # Fill.bot (a copy of the order's) has its own (bot, taken_at, id) index:
        # one bot's deep page no longer walks the whole account checking orders.
        qs = qs.filter(bot_id=f.bot)
        f = replace(f, bot="")
    return _filtered(qs, f, prefix="order__", time_field="taken_at").order_by("-taken_at", "-id")


def history_fill_totals(fills: QuerySet[Fill]) -> dict[str, Any]:
    """Over the whole filtered set: cost bought and sold per quote, fees per fee currency."""
    cost = ExpressionWrapper(F("amount") * F("price"), output_field=money_field())
    sides = (
        fills.order_by()
        .values("order__side", "order__bot__quote_currency")
        .annotate(total=Sum(cost))
        .order_by("order__side", "order__bot__quote_currency")
    )
    fees = (
        fills.order_by().values("fee_currency").annotate(total=Sum("fee")).order_by("fee_currency")
    )
    return {
        "cost": [
            (row["order__side"], row["order__bot__quote_currency"], row["total"]) for row in sides
        ],
        "fees": [(row["fee_currency"], row["total"]) for row in fees if row["total"]],
    }


def page_of(qs: QuerySet[Any], page: int, size: int) -> tuple[list[Any], bool]:
    """One page and whether another follows, without counting the whole history."""
    start = (page - 1) * size
    rows = list(qs[start : start + size + 1])
    return rows[:size], len(rows) > size


def iter_fills(qs: QuerySet[Fill]) -> Iterator[Fill]:
    # A server-side cursor on PostgreSQL; chunks on SQLite: memory stays flat.
    return qs.iterator(chunk_size=2000)
