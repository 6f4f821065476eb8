from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.events import RequestMeta
from accounts.http import AuthenticatedHttpRequest
from accounts.stepup import require_fresh_otp
from trading.cards import attach_cards
from trading.exports import fill_rows, in_blocks
from trading.filters import HistoryFilterForm
from trading.formatting import format_money, plain_amount
from trading.forms import AllocationForm, BotForm, StopForm
from trading.health import next_runs
from trading.models import Bot
from trading.rows import (
    decision_item_state,
    filter_form_state,
    history_fill_state,
    history_order_state,
    order_item_state,
    recent_decision_state,
    recent_order_state,
    render_rows,
)
from trading.selectors import (
    bot_equity_series,
    bot_list_of,
    bot_of,
    bot_page_of,
    dashboard_of,
    decision_of,
    decisions_of,
    history_fill_totals,
    history_fills,
    history_orders,
    order_of,
    orders_of,
    page_of,
    price_candles,
    trade_markers,
    with_bot,
)
from trading.services import (
    BotRefused,
    bot_create,
    bot_pause,
    bot_resume,
    bot_set_allocation,
    bot_stop,
    joinable_signals,
)

HISTORY_PAGE_SIZE = 50


@login_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = dashboard_of(request.user, two_factor=getattr(request, "two_factor", None))
    attach_cards(page.bots)
    # The recent lists' items, each rendered once per state (trading/rows.py).
    recent = {
        "fills": render_rows(
            "trading/_recent_fill_row.html", page.recent_fills, history_fill_state
        ),
        "orders": render_rows(
            "trading/_recent_order_item.html", page.recent_orders, recent_order_state
        ),
        "decisions": render_rows(
            "trading/_recent_decision_item.html", page.recent_decisions, recent_decision_state
        ),
    }
    return render(request, "trading/dashboard.html", {"page": page, "recent": recent})


@login_required
def bot_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "trading/bot_list.html", {"bots": bot_list_of(request.user)})


def _started_message(bot: Bot, *, join_now: bool) -> str:
    """Joining says which markets it joins: "joining" nothing read as a promise."""
    if not join_now:
        return f"{bot.name} is running. It acts on the strategy's next signal."
    markets = sorted(s.market for s in joinable_signals(bot))
    if not markets:
        return (
            f"{bot.name} is running. The strategy holds no fresh position to join now: "
            "the bot acts on its next signal."
        )
    joined = ", ".join(markets)
    return f"{bot.name} is running. It is joining the strategy's current position in {joined}."


@require_fresh_otp
def bot_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    # The key page's "Start a bot with this key" preselects it (only among the user's own).
    form = BotForm(
        request.POST or None,
        user=request.user,
        initial={"credential": request.GET.get("credential")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bot = bot_create(
                meta=RequestMeta.of(request),
                user=request.user,
                credential=data["credential"],
                strategy=data["strategy"],
                name=data["name"],
                markets=data["markets"],
                quote_currency=data["quote_currency"],
                allocation=data["allocation"],
                join_now=data["join_now"],
            )
        except BotRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _started_message(bot, join_now=data["join_now"]))
            return redirect("trading:detail", bot.pk)
    strategies = list(form.strategy_choices())
    runs = next_runs(strategies)
    schedule = [(s, runs[s.pk]) for s in strategies]
    # For the form's script: which markets each strategy offers.
    strategy_markets = {str(s.pk): list(s.markets) for s in strategies}
    return render(
        request,
        "trading/bot_create.html",
        {
            "form": form,
            "schedule": schedule,
            "strategy_markets": strategy_markets,
            "has_active_key": form.fields["credential"].queryset.exists(),  # type: ignore[attr-defined]
        },
    )


@login_required
def bot_detail(request: AuthenticatedHttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_page_of(request.user, bot_id)
    decisions, more = page_of(decisions_of(bot), _page_number(request), 25)
    with_bot(decisions, bot)
    orders = with_bot(list(orders_of(bot)[:20]), bot)
    return render(
        request,
        "trading/bot_detail.html",
        {
            "bot": bot,
            # The result as the dashboard shows it: after fees.
            "pnl": bot.result,
            "positions": bot.positions.filter(amount__gt=0),
            "decisions": decisions,
            # Each item rendered once per state (trading/rows.py).
            "decision_items": render_rows(
                "trading/_decision_item.html", decisions, decision_item_state
            ),
            "order_items": render_rows("trading/_order_item.html", orders, order_item_state),
            "decisions_page": _page_number(request),
            "decisions_more": more,
            "orders": orders,
            # Stop-and-sell in progress: its sell orders until the exchange settles them.
            "selling": [o for o in orders if o.side == "sell" and not o.is_final]
            if bot.status == Bot.Status.STOPPED
            else [],
            "allocation_form": AllocationForm(
                initial={"allocation": plain_amount(bot.allocation, bot.quote_currency)}
            ),
            "stop_form": StopForm(),
            "chart": {
                **bot_equity_series(bot),
                "markers": trade_markers(bot),
                "candles": {m: price_candles(bot, m) for m in bot.markets[:4]},
                "quote": bot.quote_currency,
            },
            "next_run": bot.next_signal_at,
        },
    )


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 10_000))
    except ValueError:
        return 1


def _accounts(bots: list[Bot]) -> list[UUID]:
    """The exchange accounts the bots trade on: those of all the user's orders and fills
    (a bot trades on its owner's key only, and never changes key), without asking."""
    return sorted({b.credential_id for b in bots})


def _history_bots(request: AuthenticatedHttpRequest) -> list[Bot]:
    return list(
        Bot.objects.filter(owner=request.user).only("id", "name", "markets", "credential_id")
    )


def _invalid(form: HistoryFilterForm) -> bool:
    return form.is_bound and not form.is_valid()


@login_required
def history(request: AuthenticatedHttpRequest) -> HttpResponse:
    bots = _history_bots(request)
    return _history_page(request, bots, HistoryFilterForm(request.GET or None, bots=bots))


def _history_page(
    request: AuthenticatedHttpRequest, bots: list[Bot], form: HistoryFilterForm, status: int = 200
) -> HttpResponse:
    criteria = form.to_filter()
    kind = "orders" if request.GET.get("kind") == "orders" else "fills"
    number = _page_number(request)
    if _invalid(form):
        rows: list[Any]
        rows, more, totals = [], False, None  # say what is wrong rather than show everything
    elif kind == "orders":
        orders = history_orders(request.user, criteria, _accounts(bots))
        rows, more = page_of(orders, number, HISTORY_PAGE_SIZE)
        totals = None
    else:
        fills = history_fills(request.user, criteria, accounts=_accounts(bots))
        rows, more = page_of(fills, number, HISTORY_PAGE_SIZE)
        # Summing a whole history costs a scan: only when asked (a tax year, say).
        totals = history_fill_totals(fills) if rows and request.GET.get("totals") else None
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("totals", None)
    filters = query.copy()
    filters.pop("kind", None)
    return render(
        request,
        "trading/history.html",
        {
            "form": form,
            "form_html": render_rows("trading/_history_filters.html", [form], filter_form_state)[0],
            "kind": kind,
            "rows": rows,
            # Each row rendered once per state (trading/rows.py): most of the page's time.
            "row_html": render_rows(
                f"trading/_history_{kind[:-1]}_row.html",
                rows,
                history_order_state if kind == "orders" else history_fill_state,
            ),
            "page_number": number,
            "has_next": more,
            "query": query.urlencode(),
            "filters": filters.urlencode(),
            # An empty field the form sent back filters nothing.
            "filtered": any(value for _, values in filters.lists() for value in values),
            "totals": totals,
            # No export of a filter that is wrong: it would be an empty file.
            "invalid": _invalid(form),
        },
        status=status,
    )


@login_required
def history_export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Every fill that matches the history filters, as CSV, streamed; a filter that is
    wrong gets the history page with its error (400), never an empty file that reads
    as "no fills"."""
    bots = _history_bots(request)
    form = HistoryFilterForm(request.GET or None, bots=bots)
    if _invalid(form):
        return _history_page(request, bots, form, status=400)
    criteria = form.to_filter()
    accounts = _accounts(bots)
    fills = history_fills(request.user, criteria, accounts=accounts)
    # The bot column from the bots read for the form (every fill's bot is one of
    # them: a bot trades on its owner's key only) rather than joined per row.
    rows = fill_rows(
        fills,
        # One bot's fills are one index range already; the whole history is one per account.
        accounts=[] if criteria.bot else accounts,
        bot_names={b.pk: b.name for b in bots},
    )
    response = StreamingHttpResponse(in_blocks(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="oneclick-fills-{stamp}.csv"'
    return response


@login_required
@require_POST
def bot_pause_view(request: AuthenticatedHttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    try:
        bot_pause(meta=RequestMeta.of(request), bot=bot)
    except BotRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Paused: no new orders until you resume.")
    return redirect("trading:detail", bot.pk)


@require_fresh_otp
@require_POST
def bot_resume_view(request: AuthenticatedHttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    try:
        bot_resume(meta=RequestMeta.of(request), bot=bot)
    except BotRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Running again.")
    return redirect("trading:detail", bot.pk)


@login_required
@require_POST
def bot_allocation_view(request: AuthenticatedHttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    form = AllocationForm(request.POST)
    if not form.is_valid():
        # Say what was wrong with what was typed (a NaN is not "less than 1").
        typed = str(request.POST.get("allocation", ""))[:40]
        problem = " ".join(str(e) for e in form.errors.get("allocation", [])) or (
            "Enter an allocation of at least 1."
        )
        messages.error(request, f"The allocation stays as it was: “{typed}”: {problem}")
        return redirect("trading:detail", bot.pk)
    allocation = form.cleaned_data["allocation"]
    if allocation > bot.allocation:
        # Raising the stake is sensitive: it needs a fresh one-time code.
        return require_fresh_otp(_raise_allocation)(request, bot, allocation)
    return _raise_allocation(request, bot, allocation)


def _raise_allocation(
    request: AuthenticatedHttpRequest, bot: Bot, allocation: Decimal
) -> HttpResponse:
    try:
        bot_set_allocation(meta=RequestMeta.of(request), bot=bot, allocation=allocation)
    except BotRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Allocation set to {format_money(allocation, bot.quote_currency)}."
        )
    return redirect("trading:detail", bot.pk)


@login_required
@require_POST
def bot_stop_view(request: AuthenticatedHttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    form = StopForm(request.POST)
    sell = form.is_valid() and form.cleaned_data["sell_positions"]
    bot_stop(meta=RequestMeta.of(request), bot=bot, sell_positions=sell)
    messages.success(
        request,
        "The bot is stopped. Its open orders are being cancelled"
        + (" and its positions sold: each sell shows here as it goes." if sell else ".")
        + " If anything cannot be done, we tell you by email.",
    )
    return redirect("trading:detail", bot.pk)


@login_required
def order_detail(request: AuthenticatedHttpRequest, order_id: int) -> HttpResponse:
    order = order_of(request.user, order_id)
    return render(
        request, "trading/order_detail.html", {"order": order, "fills": order.fills.all()}
    )


@login_required
def decision_detail(request: AuthenticatedHttpRequest, decision_id: int) -> HttpResponse:
    decision = decision_of(request.user, decision_id)
    return render(request, "trading/decision_detail.html", {"decision": decision})
