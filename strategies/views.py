from __future__ import annotations

import uuid
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User
from strategies.charts import drawdown_chart, equity_chart
from strategies.forms import REAL, BacktestRequestForm
from strategies.selectors import backtest_of, catalogue, strategy_of, strategy_page
from strategies.services import BacktestRefused, backtest_request
from strategies.track_records import costs_shown


@login_required
def strategy_list(request: HttpRequest) -> HttpResponse:
    return render(request, "strategies/strategy_list.html", {"entries": catalogue(_user(request))})


@login_required
def strategy_detail(request: HttpRequest, slug: str) -> HttpResponse:
    strategy = strategy_of(_user(request), slug)
    wanted = request.GET.get("backtest")
    page = strategy_page(_user(request), strategy, backtest_id=wanted if _is_uuid(wanted) else None)
    curve = page.chart_backtest.curve if page.chart_backtest else []
    return render(
        request,
        "strategies/strategy_detail.html",
        {
            "strategy": strategy,
            "page": page,
            "equity": equity_chart(curve),
            "drawdown": drawdown_chart(curve),
            "form": BacktestRequestForm(strategy=strategy),
            "costs": costs_shown(),
        },
    )


@require_POST
@login_required
def backtest_request_view(request: HttpRequest, slug: str) -> HttpResponse:
    strategy = strategy_of(_user(request), slug)
    form = BacktestRequestForm(request.POST, strategy=strategy)
    if not form.is_valid():
        messages.error(request, "Choose one of the strategy's markets and a period.")
        return redirect("strategies:detail", slug=strategy.slug)
    try:
        backtest = backtest_request(
            strategy=strategy,
            market=form.cleaned_data["market"],
            days=form.cleaned_data["days"],
            requested_by=_user(request),
            real_history=form.cleaned_data["data"] == REAL,
        )
    except BacktestRefused as exc:
        messages.error(request, str(exc))
        return redirect("strategies:detail", slug=strategy.slug)
    return redirect("strategies:backtest", backtest_id=backtest.pk)


@login_required
def backtest_detail(request: HttpRequest, backtest_id: str) -> HttpResponse:
    backtest = backtest_of(_user(request), backtest_id)
    return render(
        request,
        "strategies/backtest_detail.html",
        {
            "backtest": backtest,
            "strategy": backtest.strategy,
            "equity": equity_chart(backtest.curve),
            "drawdown": drawdown_chart(backtest.curve),
        },
    )


def _user(request: HttpRequest) -> User:
    # Every view here is behind login_required: never an anonymous user.
    return cast(User, request.user)


def _is_uuid(value: str | None) -> bool:
    if not value:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
