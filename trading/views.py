from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.stepup import require_fresh_otp
from trading.forms import AllocationForm, BotForm, StopForm
from trading.health import next_runs
from trading.selectors import bot_of, bots_of, decision_of, decisions_of, order_of, orders_of
from trading.services import (
    BotRefused,
    bot_create,
    bot_pause,
    bot_resume,
    bot_set_allocation,
    bot_stop,
)


@login_required
def bot_list(request: HttpRequest) -> HttpResponse:
    return render(request, "trading/bot_list.html", {"bots": bots_of(request.user)})


@require_fresh_otp
def bot_create_view(request: HttpRequest) -> HttpResponse:
    form = BotForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bot = bot_create(
                request=request,
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
            messages.success(
                request,
                f"{bot.name} is running. It is joining the strategy's current position."
                if data["join_now"]
                else f"{bot.name} is running. It acts on the strategy's next signal.",
            )
            return redirect("trading:detail", bot.pk)
    strategies = list(form.fields["strategy"].queryset)
    runs = next_runs(strategies)
    schedule = [(s, runs[s.pk]) for s in strategies]
    return render(request, "trading/bot_create.html", {"form": form, "schedule": schedule})


@login_required
def bot_detail(request: HttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    decisions = Paginator(decisions_of(bot), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "trading/bot_detail.html",
        {
            "bot": bot,
            "positions": bot.positions.filter(amount__gt=0),
            "decisions": decisions,
            "orders": orders_of(bot)[:20],
            "allocation_form": AllocationForm(initial={"allocation": bot.allocation}),
            "stop_form": StopForm(),
            "next_run": next_runs([bot.strategy])[bot.strategy.pk],
        },
    )


@login_required
@require_POST
def bot_pause_view(request: HttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    try:
        bot_pause(request=request, bot=bot)
    except BotRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Paused: no new orders until you resume.")
    return redirect("trading:detail", bot.pk)


@require_fresh_otp
@require_POST
def bot_resume_view(request: HttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    try:
        bot_resume(request=request, bot=bot)
    except BotRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Running again.")
    return redirect("trading:detail", bot.pk)


@login_required
@require_POST
def bot_allocation_view(request: HttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    form = AllocationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter an allocation of at least 1.")
        return redirect("trading:detail", bot.pk)
    allocation = form.cleaned_data["allocation"]
    if allocation > bot.allocation:
        # Raising the stake is sensitive: it needs a fresh one-time code.
        return require_fresh_otp(_raise_allocation)(request, bot, allocation)
    return _raise_allocation(request, bot, allocation)


def _raise_allocation(request: HttpRequest, bot: object, allocation: object) -> HttpResponse:
    try:
        bot_set_allocation(request=request, bot=bot, allocation=allocation)
    except BotRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Allocation set to {allocation}.")
    return redirect("trading:detail", bot.pk)


@login_required
@require_POST
def bot_stop_view(request: HttpRequest, bot_id: str) -> HttpResponse:
    bot = bot_of(request.user, bot_id)
    form = StopForm(request.POST)
    sell = form.is_valid() and form.cleaned_data["sell_positions"]
    problems = bot_stop(request=request, bot=bot, sell_positions=sell)
    for problem in problems:
        messages.warning(request, problem)
    messages.success(
        request, "The bot is stopped." + (" Its positions are being sold." if sell else "")
    )
    return redirect("trading:detail", bot.pk)


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = order_of(request.user, order_id)
    return render(
        request, "trading/order_detail.html", {"order": order, "fills": order.fills.all()}
    )


@login_required
def decision_detail(request: HttpRequest, decision_id: int) -> HttpResponse:
    decision = decision_of(request.user, decision_id)
    return render(request, "trading/decision_detail.html", {"decision": decision})
