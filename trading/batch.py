"""One signal for a batch of bots at once: a few queries per batch, not ~80 per bot.

``execute_bots`` is the fast path of ``trading.fanout.execute_batch``. It does
per batch what ``trading.execution.execute`` does per bot, with the same rules:

- decisions are created in one insert (one per (bot, signal): the unique
  constraint, conflicts ignored) and read back in one query;
- every bot of the batch is sized and its order written in ONE transaction,
  under a lock on all the batch's bot rows taken in primary-key order (two
  workers with overlapping batches queue rather than deadlock), each bot seeing
  what its other unsettled orders reserve; sizing goes through
  ``strategies.sizing.size_order``, the function the backtest uses;
- the orders are written *unknown* with this worker's lease
  (``claimed_until``) and their client order ids, and committed, before any of
  them is sent: that insert is the claim to send (``trading.orders`` rule:
  whoever moves an order to *unknown* is the only one to call
  ``create_order``), so a crash after it leaves orders to look up, never to
  send twice;
- the orders are sent on a bounded pool of threads, each request through the
  shared budgets (``trading.exchange_calls``), with no database write of ours
  on the send path; orders of one account are sent one after the other on one
  client;
- clean replies (final, with all their fills) are written in one transaction:
  order figures, fills (bulk), books (incremental from the new fills),
  settlement and decisions, and one live push per owner. Everything else (an
  error, a partial or open reply) goes through ``trading.orders`` one order at
  a time, exactly as on the per-bot path.

Bots this path cannot take as a whole (an earlier try left a decision or an
order, an account with an order in doubt, an exchange that did not answer
before any order existed) are returned as ``leftover`` for the per-bot path,
which owns every retry and error rule.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeGuard, cast

import ccxt
from django.conf import settings
from django.db import (
    IntegrityError,
    close_old_connections,
    connections,
    models,
    router,
    transaction,
)
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django_q.conf import Conf

from strategies.models import Signal
from strategies.signing import verify_signal
from strategies.sizing import MarketRules, Refusal, size_order
from trading import decisions, fees, limits, market_cache
from trading.events import push_many
from trading.exchange_calls import MalformedReply, RateLimited, with_limits
from trading.execution import check, client_order_id, market_refusal, setup_failed
from trading.models import Bot, Decision, Fill, Order, Position
from trading.orders import (
    advance,
    after_send_error,
    apply_reply,
    check_open_orders,
    committed_elsewhere,
    explain_wait,
    reply_figures,
    reply_of_order,
    reply_trades,
    send_call,
)
from trading.pnl import Book, FillEvent, apply_fill, mark_to_market, unrealised_pnl
from trading.published_limits import refresh_published_limits
from trading.sync import (
    fill_of,
    fill_report,
    marks_of,
    stored_unvalued_fees,
    ticker_price,
    unvalued_fees_of,
    update_book,
)
from vault.models import CredentialUse
from vault.services import clients_for

logger = logging.getLogger(__name__)
Status = Order.Status
Outcome = Decision.Outcome
Api = Callable[..., Any]
BOOK_FIELDS = [
    "cash", "realised_pnl", "unrealised_pnl", "fees_paid", "equity", "peak_equity",
    "max_drawdown", "marked_at", "unvalued_fees",
]  # fmt: skip
OWN_ORDER_FIELDS = [
    f.attname for f in Order._meta.concrete_fields if f.attname not in ("bot_id", "decision_id")
]
# Columns of the bots' keys the batch never reads (``vault.services.clients_for``
# opens the key from the current row); loaded on access if another path needs them.
CREDENTIAL_UNUSED = (
    "api_key", "secret", "passphrase", "uid", "permissions", "status_reason", "label",
    "api_key_masked",
)  # fmt: skip
ORDER_REPLY_FIELDS = [
    "status", "exchange_order_id", "filled", "cost", "average", "error", "settled",
    "reserved", "next_attempt_at", "claimed_until", "updated_at",
]  # fmt: skip


@dataclass
class BatchResult:
    """What the fast path did: outcomes of the bots it took, the bots it left."""

    outcomes: dict[str, str] = field(default_factory=dict)
    leftover: list[str] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)  # fills for strategy feedback


@dataclass
class _Account:
    """One exchange account of the batch: its client and budgeted ``api``, made on first use
    (on the thread that sends its orders: a ccxt client costs milliseconds to build)."""

    credential_id: Any
    exchange_id: str
    build: Callable[[], Any]
    limits: dict[str, int] | None = None  # the exchange's published limits, read per batch
    _client: Any = None
    _api: Api | None = None

    def client(self) -> Any:
        if self._client is None:
            self._client = self.build()
        return self._client

    def api(self) -> Api:
        if self._api is None:
            # The published limits are the exchange's: ``_prepare`` read them once.
            self._api = with_limits(
                self.client(), self.exchange_id, self.credential_id, refresh=False,
                limits=self.limits,
            )  # fmt: skip
        return self._api

    def ready_api(self) -> Api | None:
        return self._api


@dataclass
class _Plan:
    bot: Bot
    decision: Decision
    account: _Account
    market: dict[str, Any]
    price: Decimal


def execute_bots(signal_id: str, bot_ids: list[str]) -> BatchResult:
    """Execute one signal for a batch of bots in bulk; the rest left to the per-bot path."""
    result = BatchResult()
    _warm_senders()
    signal = Signal.objects.select_related("strategy").get(pk=signal_id)
    bots = {}
    # Not the strategy row again per bot (the signal's, when it is the bot's: a bot of
    # another strategy is refused by ``check`` before its strategy is read), nor the
    # key's sealed columns, which ``clients_for`` reads from the current row anyway.
    for bot in (
        Bot.objects.select_related("credential")
        .defer(*(f"credential__{name}" for name in CREDENTIAL_UNUSED))
        .filter(pk__in=bot_ids)
    ):
        if bot.strategy_id == signal.strategy_id:
            bot.strategy = signal.strategy
        bots[str(bot.pk)] = bot
    result.leftover += [pk for pk in bot_ids if pk not in bots]  # gone: the per-bot path says so
    found = _decisions(signal, bots)
    with_order = set(
        Order.objects.filter(decision__in=list(found.values())).values_list(
            "decision_id", flat=True
        )
    )
    signature_ok = verify_signal(signal, signal.strategy.public_key)  # once, not per bot
    fresh: list[Bot] = []
    for pk, bot in bots.items():
        decision = found[pk]
        if decision.outcome != Outcome.PENDING:
            result.outcomes[pk] = decision.outcome  # done by an earlier run
        elif decision.pk in with_order or decision.attempts or decision.next_attempt_at:
            result.leftover.append(pk)  # continues an earlier try: the per-bot path
        elif refusal := check(bot, signal, signature_ok=signature_ok):
            decisions.ignore(decision, *refusal)
            result.outcomes[pk] = Outcome.IGNORED
        else:
            fresh.append(bot)
    plans = _prepare(signal, fresh, found, result)
    placed, until = _place_all(signal, plans, result)
    if placed:
        _send_and_book(placed, until, {str(p.bot.pk): p for p in plans}, result)
    # Decisions the booking settled are final (executed); the others are read back.
    open_ = [o.bot_id for o, _ in placed if str(o.bot_id) not in result.outcomes]
    if open_:
        decided = Decision.objects.filter(signal=signal, bot_id__in=open_)
        for bot_pk, outcome in decided.values_list("bot_id", "outcome"):
            result.outcomes[str(bot_pk)] = outcome
    return result


def _decisions(signal: Any, bots: dict[str, Bot]) -> dict[str, Decision]:
    """The one decision of each (bot, signal): created in one insert, read in one query."""
    Decision.objects.bulk_create(
        [Decision(bot=bot, signal=signal, message="Received; being checked.") for bot in bots.values()],
        ignore_conflicts=True,  # another worker's, or an earlier run's: the unique constraint
    )  # fmt: skip
    found = {}
    for decision in Decision.objects.filter(signal=signal, bot_id__in=list(bots)):
        decision.bot = bots[str(decision.bot_id)]
        decision.signal = signal
        found[str(decision.bot_id)] = decision
    return found


def _prepare(
    signal: Any, bots: list[Bot], found: dict[str, Decision], result: BatchResult
) -> list[_Plan]:
    """Clients, markets and one price per exchange; bots whose account is not clear left over."""
    if not bots:
        return []
    credentials = {bot.credential_id: bot.credential for bot in bots}
    now = timezone.now()
    # Orders of an account still in doubt are settled before a new one goes out (the
    # per-bot path does it); one another worker is sending right now is in flight.
    doubtful = set(
        Order.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            credential_id__in=list(credentials),
            status=Status.UNKNOWN,
        ).values_list("credential_id", flat=True)
    )
    clients, refused = clients_for(
        [c for pk, c in credentials.items() if pk not in doubtful],
        purpose=CredentialUse.Purpose.TRADE,
        detail=signal.market,
    )
    accounts = {
        pk: _Account(pk, credentials[pk].exchange_id, build) for pk, build in clients.items()
    }
    markets: dict[str, dict[str, Any]] = {}
    published: dict[str, dict[str, int]] = {}
    prices: dict[str, Decimal] = {}
    since_signal = max(0.0, timezone.now().timestamp() - signal.created_at.timestamp())
    plans = []
    for bot in bots:
        pk, credential_id, exchange_id = str(bot.pk), bot.credential_id, bot.credential.exchange_id
        if credential_id in refused:
            decisions.ignore(found[pk], "credential_inactive", refused[credential_id])
            result.outcomes[pk] = Outcome.IGNORED
            continue
        account = accounts.get(credential_id)
        if account is None:
            result.leftover.append(pk)  # an order of this account is in doubt: per-bot path
            continue
        try:
            # Markets and one ticker per (exchange, market) serve every bot of the batch;
            # asked with the first bot's account (shared caches: rarely a request).
            if exchange_id not in markets:
                published[exchange_id] = refresh_published_limits(account.client(), exchange_id)
                account.limits = published[exchange_id]
                markets[exchange_id] = account.api()("load_markets")
            if exchange_id not in prices:
                ticker = market_cache.ticker_snapshot(
                    exchange_id,
                    signal.market,
                    min(settings.PRICE_SNAPSHOT_SECONDS, since_signal),
                    client=account.client(),
                )
                prices[exchange_id] = ticker_price(ticker)
        except (RateLimited, ccxt.BaseError) as exc:  # no order yet: the per-bot rules
            setup_failed(found[pk], exc)
            result.outcomes[pk] = found[pk].outcome
            continue
        account.limits = published[exchange_id]
        market = markets[exchange_id].get(signal.market)
        closed = market_refusal(signal.market, market)
        if closed or market is None:
            decisions.ignore(found[pk], *(closed or ("market_unknown", "")))
            result.outcomes[pk] = Outcome.IGNORED
            continue
        plans.append(_Plan(bot, found[pk], account, market, prices[exchange_id]))
    return plans


def _place_all(
    signal: Any, plans: list[_Plan], result: BatchResult
) -> tuple[list[tuple[Order, _Plan]], dt.datetime]:
    """Size every bot and write its order, committed before any is sent; one transaction."""
    now = timezone.now()
    until = now + dt.timedelta(seconds=settings.ORDER_CLAIM_SECONDS)
    if not plans:
        return [], until
    buffer = Decimal(settings.ORDER_PRICE_BUFFER)
    refusals: list[tuple[_Plan, str, str]] = []
    placed: list[tuple[Order, _Plan]] = []
    bot_ids = sorted(str(p.bot.pk) for p in plans)
    try:
        with transaction.atomic():
            # One sizing at a time per bot: all the batch's rows, in a stable order.
            locked = {
                str(bot.pk): bot
                for bot in Bot.objects.select_for_update().filter(pk__in=bot_ids).order_by("pk")
            }
            taken = set(
                Order.objects.filter(decision__in=[p.decision for p in plans]).values_list(
                    "decision_id", flat=True
                )
            )
            cash_held: dict[str, Decimal] = defaultdict(Decimal)
            base_held: dict[str, Decimal] = defaultdict(Decimal)
            unsettled = (
                Order.objects.filter(bot_id__in=bot_ids, settled=False)
                .values("bot_id", "side", "market")
                .annotate(total=Sum("reserved"))
            )
            for row in unsettled:  # what orders in flight tie up (``orders.reserved``)
                if row["side"] == "buy":
                    cash_held[str(row["bot_id"])] += row["total"] or 0
                elif row["market"] == signal.market:
                    base_held[str(row["bot_id"])] += row["total"] or 0
            # Every market's position: a target sizes against the bot's whole equity.
            positions: dict[str, list[Position]] = defaultdict(list)
            for position in Position.objects.filter(bot_id__in=bot_ids):
                positions[str(position.bot_id)].append(position)
            for plan in plans:
                pk = str(plan.bot.pk)
                bot = locked.get(pk)
                if bot is None or plan.decision.pk in taken:
                    result.leftover.append(pk)  # a duplicate task wrote it meanwhile
                    continue
                if bot.status != Bot.Status.ACTIVE:
                    refusals.append((plan, "bot_inactive", "The bot was paused or stopped."))
                    continue
                fee_rate = Decimal(str(plan.market.get("taker") or settings.ORDER_FEE_RATE))
                here = [p for p in positions[pk] if p.market == signal.market]
                others = [p for p in positions[pk] if p.market != signal.market]
                sized = size_order(
                    side=signal.action,
                    fraction=Decimal(signal.fraction),
                    capital=bot.allocation,
                    cash=bot.cash - cash_held[pk],
                    held=(here[0].amount if here else Decimal(0)) - base_held[pk],
                    price=plan.price,
                    fee_rate=fee_rate,
                    rules=MarketRules.from_ccxt(plan.market),
                    # A buy (also a target's) reserves for a fill up to the buffer above price.
                    buy_markup=buffer,
                    cost=signal.cost,
                    sleeves=len(bot.markets),
                    committed=committed_elsewhere(cash_held[pk], others),
                )
                if isinstance(sized, Refusal):
                    refusals.append((plan, sized.reason, sized.message))
                    continue
                order = Order(
                    bot=bot,
                    decision=plan.decision,
                    credential_id=bot.credential_id,
                    exchange_id=plan.bot.credential.exchange_id,
                    market=signal.market,
                    side=sized.side,  # a target's buy or sell
                    type="market",
                    amount=sized.amount,
                    price=plan.price,
                    reserved=sized.reserve,
                    client_order_id=client_order_id(bot.pk, signal.pk),
                    # Claimed to send, with our lease: committed before the request.
                    status=Status.UNKNOWN,
                    attempts=1,
                    sent_at=now,
                    claimed_until=until,
                )
                order.credential = plan.bot.credential
                placed.append((order, plan))
            Order.objects.bulk_create([order for order, _ in placed])
    except IntegrityError:  # another worker wrote one of them: each bot on its own
        result.leftover += [str(p.bot.pk) for p in plans]
        return [], until
    for plan, reason, message in refusals:
        decisions.ignore(plan.decision, reason, message)
        result.outcomes[str(plan.bot.pk)] = Outcome.IGNORED
    return placed, until


# --- sending ------------------------------------------------------------------------------


def _send_all(placed: list[tuple[Order, _Plan]]) -> dict[int, Any]:
    """Each order's reply or exception; accounts in parallel on a bounded pool of threads.

    Orders of one account go one after the other on its one client (a ccxt client is
    not shared between threads). No database write of ours here.
    """
    by_account: dict[Any, list[tuple[Order, _Plan]]] = defaultdict(list)
    for order, plan in placed:
        by_account[order.credential_id].append((order, plan))
    results: dict[int, Any] = {}

    def send(group: list[tuple[Order, _Plan]]) -> None:
        for order, plan in group:
            try:
                api = plan.account.api()
            except Exception as exc:  # no client, so certainly not sent: tried again later
                logger.warning("No client for order %s: %s", order.pk, type(exc).__name__)
                retry = RateLimited(settings.DECISION_RETRY_SECONDS, "the client could not be made")
                results[order.pk] = retry
                continue
            try:
                results[order.pk] = send_call(order, api)
            except Exception as exc:  # judged by orders.after_send_error
                results[order.pk] = exc

    threads = max(1, min(settings.EXECUTION_THREADS, len(by_account)))
    if threads == 1 or Conf.SYNC:  # inline (tests, one account): this thread's connection
        for group in by_account.values():
            send(group)
        return results
    work: queue.SimpleQueue[list[tuple[Order, _Plan]]] = queue.SimpleQueue()
    for group in by_account.values():
        work.put(group)

    def worker() -> None:
        close_old_connections()  # one past CONN_MAX_AGE, or broken, is replaced
        while True:
            try:
                group = work.get_nowait()
            except queue.Empty:
                return
            send(group)

    for future in [_sender_pool().submit(worker) for _ in range(threads)]:
        future.result()
    return results


_senders: ThreadPoolExecutor | None = None
_senders_lock = threading.Lock()
_warmed = False


def _warm_senders() -> None:
    """Once per process, without waiting: every sending thread opens its database and
    Redis connections while this thread checks, sizes and writes the first batch's
    orders, instead of on that batch's send path (the cold first batch of each worker)."""
    global _warmed
    if _warmed or Conf.SYNC or settings.EXECUTION_THREADS <= 1:
        return
    _warmed = True

    def connect() -> None:
        try:
            close_old_connections()
            connections[router.db_for_write(Order)].ensure_connection()
            redis = getattr(limits.store, "redis", None)  # the shared budgets, in production
            if redis is not None:
                redis.ping()
        except Exception as exc:  # only a head start: the send opens what it needs anyway
            logger.info("Warming a sending thread failed: %s", type(exc).__name__)

    pool = _sender_pool()
    for _ in range(settings.EXECUTION_THREADS):
        pool.submit(connect)


def _sender_pool() -> ThreadPoolExecutor:
    """This process's sending threads, kept from batch to batch: each keeps its database
    connection (the paper exchange and the embedded rate store use one) for
    ``CONN_MAX_AGE`` instead of opening one per batch (a PostgreSQL backend each)."""
    global _senders
    with _senders_lock:
        if _senders is None:
            _senders = ThreadPoolExecutor(
                max_workers=max(1, settings.EXECUTION_THREADS), thread_name_prefix="send"
            )
        return _senders


def _clean(reply: object, order: Order) -> TypeGuard[dict[str, Any]]:
    """A reply the bulk write can take: final, named, and carrying all its fills, every
    figure of it sound (``reply_figures``, ``sync.fill_of``)."""
    if not isinstance(reply, dict) or reply.get("id") is None or reply.get("status") != "closed":
        return False
    trades = reply_trades(reply)
    if not trades:
        return False
    try:
        filled = reply_of_order(order, reply)["filled"]
        total = sum((fill_of(order, t).amount for t in trades), Decimal(0))
    except (MalformedReply, ValueError):
        return False
    ok = all(str(t.get("order") or reply["id"]) == str(reply["id"]) for t in trades)
    return ok and total == filled


def _send_and_book(
    placed: list[tuple[Order, _Plan]],
    until: dt.datetime,
    plans: dict[str, _Plan],
    result: BatchResult,
) -> None:
    replies = _send_all(placed)
    clean: list[tuple[Order, dict[str, Any]]] = []
    others: list[Order] = []
    for order, plan in placed:
        reply = replies.get(order.pk)
        if isinstance(reply, Exception):
            after_send_error(order, plan.account.ready_api(), reply)
            others.append(order)
        elif _clean(reply, order):
            clean.append((order, reply))
        else:  # open, partial, rejected, odd: the per-order rules
            try:
                apply_reply(order, reply)
            except MalformedReply as exc:  # says no more than a timeout: looked up
                after_send_error(order, plan.account.ready_api(), exc)
            others.append(order)
    try:
        booked = _book(clean, until, plans, result) if clean else set()
    except IntegrityError:  # a fill stored meanwhile: each order on its own, from the database
        logger.warning("Bulk write of %d replies rolled back; one by one", len(clean))
        booked = set()
    for order, _ in clean:
        if order.pk not in booked:
            order.refresh_from_db(fields=OWN_ORDER_FIELDS)
            others.append(order)
    # Our lease ends here: what is left is for the per-bot path and the sweeper. The
    # booked orders' lease ended in the booking's own write (``claimed_until`` None).
    unbooked = [o.pk for o, _ in placed if o.pk not in booked]
    if unbooked:
        Order.objects.filter(pk__in=unbooked, claimed_until=until).update(
            claimed_until=None, updated_at=timezone.now()
        )
    for order in others:
        order.claimed_until = None
        if order.settled:
            continue
        if order.status in (Status.PENDING, Status.UNKNOWN):
            explain_wait(order)  # retried at its next_attempt_at by the batch or the sweeper
        else:
            advance(order, api=plans[str(order.bot_id)].account.api())  # read back, books, settle


def _update_rows(model: type[models.Model], rows: list[Any], fields: list[str]) -> None:
    """Write ``fields`` of many rows: one statement on PostgreSQL, one run many times
    (executemany) elsewhere.

    ``QuerySet.bulk_update`` builds a CASE expression per field and row, which costs
    more Python than the whole execution of a bot; the caller holds the rows' locks
    (or their lease) as for any other change of them."""
    if not rows:
        return
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    pk = meta.pk
    if pk is None:  # every model here has one
        raise ValueError(f"{model.__name__} has no primary key")
    values = [
        [c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns]
        + [pk.get_db_prep_save(row.pk, connection)]
        for row in rows
    ]
    table, where = quote(meta.db_table), quote(str(pk.column))
    if connection.vendor == "postgresql":
        # One statement for all the rows (one parse, one round trip): each column as an
        # array, unnested. ``executemany`` sent a statement per row, each parsed anew
        # (client-side binding): ~3 % of a batch's CPU in this process alone (py-spy).
        types = [str(c.db_type(connection)) for c in [*columns, pk]]
        names = [f"c{n}" for n in range(len(types))]
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        assignments = ", ".join(
            f"{quote(str(c.column))} = v.{name}" for c, name in zip(columns, names, strict=False)
        )
        sql = (
            f"UPDATE {table} SET {assignments} FROM UNNEST({arrays}) AS v({', '.join(names)}) "  # noqa: S608 - names from the model, values bound
            f"WHERE {table}.{where} = v.{names[-1]}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(column) for column in zip(*values, strict=True)])
        return
    assignments = ", ".join(f"{quote(str(c.column))} = %s" for c in columns)
    sql = f"UPDATE {table} SET {assignments} WHERE {where} = %s"  # noqa: S608 - names from the model, values bound
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def _event(order: Order, fill: Fill) -> FillEvent:
    return FillEvent(
        market=order.market, side=order.side, amount=fill.amount, price=fill.price,
        fee=fill.fee, fee_currency=fill.fee_currency, fee_value=fill.fee_value,
    )  # fmt: skip


def _fee_prices(
    clean: list[tuple[Order, dict[str, Any]]], plans: dict[str, _Plan]
) -> dict[str, dict[str, Decimal]]:
    """Per exchange, the prices of third-currency fees in these replies (``trading.fees``),
    asked before the booking transaction opens: no request while rows are locked."""
    pairs: dict[str, set[str]] = defaultdict(set)
    for order, reply in clean:
        currencies = {
            str((t.get("fee") or {}).get("currency") or "")
            for t in reply_trades(reply)
            if isinstance(t, dict) and isinstance(t.get("fee"), dict)
        }
        pairs[plans[str(order.bot_id)].account.exchange_id] |= fees.fee_pairs(
            order.market, currencies
        )
    return {exchange: fees.fee_prices(exchange, wanted) for exchange, wanted in pairs.items()}


def _book(
    clean: list[tuple[Order, dict[str, Any]]],
    until: dt.datetime,
    plans: dict[str, _Plan],
    result: BatchResult,
) -> set[int]:
    """Write clean replies in one transaction: orders, fills, books, settlement, decisions.

    Returns the orders written (those still ours: unknown, under our lease).
    """
    now = timezone.now()
    prices_of_fees = _fee_prices(clean, plans)
    with transaction.atomic():
        mine = set(
            Order.objects.select_for_update()
            .filter(pk__in=[o.pk for o, _ in clean], status=Status.UNKNOWN, claimed_until=until)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        clean = [(o, r) for o, r in clean if o.pk in mine]
        if not clean:
            return set()
        bot_ids = sorted({o.bot_id for o, _ in clean}, key=str)
        # Only the book's columns: the replay path (``sync.update_book``) reads its own row.
        bots = {
            b.pk: b
            for b in Bot.objects.select_for_update()
            .filter(pk__in=bot_ids)
            .order_by("pk")
            .only("id", "allocation", *BOOK_FIELDS)
        }
        # Each bot's stored fills in one look: any not booked yet, and the last booked one.
        unbooked: set[Any] = set()
        last_booked: dict[Any, dt.datetime] = {}
        for bot_pk, waiting, last in (
            Fill.objects.filter(bot_id__in=bot_ids)  # their own index, not through orders
            .values("bot_id")
            .annotate(
                waiting=Count("pk", filter=Q(booked=False)),
                last=Max("taken_at", filter=Q(booked=True)),
            )
            .values_list("bot_id", "waiting", "last")
        ):
            if waiting:
                unbooked.add(bot_pk)
            if last is not None:
                last_booked[bot_pk] = last
        fills: list[tuple[Order, Fill]] = []
        for order, reply in clean:
            order.status = Status.CLOSED
            for name, value in reply_figures(reply).items():  # checked by _clean
                setattr(order, name, value)
            order.settled, order.reserved, order.next_attempt_at = True, Decimal(0), None
            order.claimed_until, order.updated_at = None, now
            new = [fill_of(order, trade) for trade in reply_trades(reply)]
            exchange_id = plans[str(order.bot_id)].account.exchange_id
            fees.value_fees(order, new, prices_of_fees.get(exchange_id, {}))
            fills += [(order, fill) for fill in new]
        # A bot's book goes on from its stored state when the new fills come after every
        # booked one (the average-cost method depends on order); otherwise it is replayed.
        first_new: dict[Any, dt.datetime] = {}
        for order, fill in fills:
            first_new[order.bot_id] = min(first_new.get(order.bot_id, fill.taken_at), fill.taken_at)
        incremental = {
            pk for pk in bot_ids
            if pk not in unbooked and (pk not in last_booked or last_booked[pk] < first_new[pk])
        }  # fmt: skip
        for order, fill in fills:
            fill.booked = order.bot_id in incremental
        _update_rows(Order, [o for o, _ in clean], ORDER_REPLY_FIELDS)
        Fill.objects.bulk_create([fill for _, fill in fills])
        _update_books(
            [bots[pk] for pk in bot_ids if pk in incremental],
            fills,
            {o.bot_id: {o.market: o.average or o.price or Decimal(0)} for o, _ in clean},
        )
        for order, _ in clean:
            if order.bot_id not in incremental:
                update_book(
                    bots[order.bot_id], {order.market: order.average or order.price or Decimal(0)}
                )
        decided = _decide_executed([o for o, _ in clean], now)
        _push(clean, decided)
        executed = {str(d.bot_id) for d in decided}
        # Other open orders of these accounts the exchange may no longer list: looked up.
        with_open = set(
            Order.objects.filter(
                credential_id__in={o.credential_id for o, _ in clean},
                status=Status.OPEN,
            ).values_list("credential_id", "market")
        )
    for order, _ in clean:
        if (order.credential_id, order.market) in with_open:
            check_open_orders(order, plans[str(order.bot_id)].account.api())
    for order, fill in fills:
        if order.decision_id:
            result.reports.append(fill_report(order, fill))
    # Committed: these bots' decisions are executed, which no later write undoes.
    result.outcomes.update((pk, Outcome.EXECUTED) for pk in executed)
    return {o.pk for o, _ in clean}


def _update_books(
    bots: list[Bot], fills: list[tuple[Order, Fill]], prices: dict[Any, dict[str, Decimal]]
) -> None:
    """``sync.update_book`` for many bots whose new fills all come after their booked ones."""
    if not bots:
        return
    positions: dict[Any, list[Position]] = defaultdict(list)
    for position in Position.objects.filter(bot_id__in=[b.pk for b in bots]):
        positions[position.bot_id].append(position)
    new_fills: dict[Any, list[tuple[Order, Fill]]] = defaultdict(list)
    for order, fill in fills:
        new_fills[order.bot_id].append((order, fill))
    created: list[Position] = []
    changed: list[Position] = []
    now = timezone.now()
    for bot in bots:
        book = Book(
            cash=bot.cash, realised_pnl=bot.realised_pnl, fees_paid=bot.fees_paid,
            peak_equity=max(bot.peak_equity, bot.allocation), max_drawdown=bot.max_drawdown,
            unvalued_fees=unvalued_fees_of(bot),
        )  # fmt: skip
        for stored_row in positions[bot.pk]:
            book.position(stored_row.market).amount = stored_row.amount
            book.positions[stored_row.market].avg_entry = stored_row.avg_entry
        ordered = sorted(new_fills[bot.pk], key=lambda pair: (pair[1].taken_at, pair[1].pk or 0))
        for order, fill in ordered:
            apply_fill(book, _event(order, fill))
        held = {m: p for m, p in book.positions.items() if p.amount}
        marked = marks_of(book, prices[bot.pk], positions[bot.pk], now)
        marks = {m: price for m, (price, _) in marked.items()}
        mark_to_market(book, marks)
        stored = {p.market: p for p in positions[bot.pk]}
        for market, booked in book.positions.items():
            row = stored.get(market)
            # As sync._store_book: each held position keeps the price the totals used.
            mark, mark_time = marked.get(market, (None, None))
            if row is None:
                created.append(
                    Position(
                        bot=bot, market=market, amount=booked.amount, avg_entry=booked.avg_entry,
                        mark_price=mark, marked_at=mark_time,
                    )
                )  # fmt: skip
            elif (row.amount, row.avg_entry) != (booked.amount, booked.avg_entry) or (
                mark is not None and (row.mark_price, row.marked_at) != (mark, mark_time)
            ):
                row.amount, row.avg_entry = booked.amount, booked.avg_entry
                if mark is not None:
                    row.mark_price, row.marked_at = mark, mark_time
                changed.append(row)
        bot.cash, bot.realised_pnl, bot.fees_paid = book.cash, book.realised_pnl, book.fees_paid
        bot.unvalued_fees = stored_unvalued_fees(book)
        bot.unrealised_pnl = unrealised_pnl(book, marks)
        bot.equity = book.cash + sum((p.amount * marks[m] for m, p in held.items()), Decimal(0))
        bot.peak_equity, bot.max_drawdown, bot.marked_at = book.peak_equity, book.max_drawdown, now
    Position.objects.bulk_create(created)
    _update_rows(Position, changed, ["amount", "avg_entry", "mark_price", "marked_at"])
    _update_rows(Bot, bots, BOOK_FIELDS)


def _decide_executed(orders: list[Order], now: dt.datetime) -> list[Decision]:
    """``sync.settle_decision`` for many placed orders: executed, if still pending."""
    by_decision = {o.decision_id: o for o in orders if o.decision_id}
    rows = Decision.objects.select_for_update().filter(
        Q(outcome=Outcome.PENDING) | Q(reason="unconfirmed"), pk__in=list(by_decision)
    )
    # Only what the push and the write need: every other column is left as it is.
    decided = list(rows.order_by("pk").only("id", "bot_id"))
    for decision in decided:
        order = by_decision[decision.pk]
        decision.outcome, decision.reason = Outcome.EXECUTED, "placed"
        decision.message = f"{order.side} {order.filled or order.amount} {order.market}"[:500]
        decision.decided_at, decision.next_attempt_at = now, None
    _update_rows(
        Decision, decided, ["outcome", "reason", "message", "decided_at", "next_attempt_at"]
    )
    return decided


def _push(clean: list[tuple[Order, dict[str, Any]]], decided: list[Decision]) -> None:
    """One live push per owner for the whole batch (after commit), not two per order."""
    owners: dict[Any, dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {"orders": [], "decisions": []}
    )
    bot_owner = {}
    for order, _ in clean:
        bot_owner[order.bot_id] = order.bot.owner_id
        owners[order.bot.owner_id]["orders"].append(
            {"bot": str(order.bot_id), "order": order.pk, "market": order.market,
             "side": order.side, "status": order.status, "filled": str(order.filled)}
        )  # fmt: skip
    for decision in decided:
        owners[bot_owner[decision.bot_id]]["decisions"].append(
            {"bot": str(decision.bot_id), "outcome": decision.outcome, "reason": decision.reason,
             "message": decision.message}
        )  # fmt: skip
    push_many([(owner_id, "batch", payload) for owner_id, payload in owners.items()])
