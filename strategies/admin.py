"""Staff manage strategies here: switch them, set the interval, rotate keys.

The private key is never a field, a column or a readonly value here: the
VaultField is not editable and renders as nothing even if asked.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django_q.tasks import async_task

from oneclick.admin_site import ReadOnlyAdmin
from strategies.models import (
    Backtest,
    Candle,
    ModelState,
    Signal,
    SignalOutcome,
    Strategy,
    StrategyRun,
)
from strategies.services import (
    BacktestRefused,
    backtest_request,
    strategy_add,
    strategy_rotate_keys,
    strategy_set_active,
    strategy_settings_changed,
)

OFFICIAL_BACKTEST_DAYS = 730


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = [
        "name", "slug", "kind", "is_active", "timeframe", "interval_minutes", "risk",
        "public_key", "keys_rotated_at",
    ]  # fmt: skip
    list_filter = ["is_active", "kind", "risk"]
    search_fields = ["name", "slug"]
    actions = ["activate", "deactivate", "rotate_keys", "run_now", "queue_official_backtests"]
    editable_fields = [
        "name", "description", "exchange_id", "markets", "timeframe", "interval_minutes",
        "max_signal_age", "params", "risk", "is_active",
    ]  # fmt: skip
    info_fields = ["public_key", "keys_rotated_at", "created_at", "updated_at"]

    def get_fields(  # type: ignore[override]
        self, request: HttpRequest, obj: Strategy | None = None
    ) -> list[str]:
        if obj is None:
            return ["slug", "kind", *self.editable_fields]
        return ["slug", "kind", *self.editable_fields, *self.info_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Strategy | None = None) -> list[str]:
        # The slug is bound into the private key's encryption; the kind defines the model.
        return [] if obj is None else ["slug", "kind", *self.info_fields]

    def get_exclude(self, request: HttpRequest, obj: Strategy | None = None) -> list[str]:
        return ["private_key"]

    def save_model(
        self, request: HttpRequest, obj: Strategy, form: ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            strategy_settings_changed(strategy=obj)
        else:
            strategy_add(strategy=obj)

    @admin.action(description="Activate selected strategies")
    def activate(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        for strategy in queryset:
            strategy_set_active(strategy=strategy, active=True)
        self.message_user(request, f"{len(queryset)} strategy(ies) active.", messages.SUCCESS)

    @admin.action(description="Deactivate selected strategies")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        for strategy in queryset:
            strategy_set_active(strategy=strategy, active=False)
        self.message_user(request, f"{len(queryset)} strategy(ies) off.", messages.SUCCESS)

    @admin.action(description="Rotate signing keys (pending signals stop verifying)")
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        for strategy in queryset:
            strategy_rotate_keys(strategy=strategy)
        self.message_user(request, f"New keys for {len(queryset)} strategy(ies).", messages.SUCCESS)

    @admin.action(description="Run selected strategies now")
    def run_now(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        for strategy in queryset:
            async_task("strategies.tasks.run_strategy", strategy.pk)
        self.message_user(request, f"{len(queryset)} run(s) queued.", messages.SUCCESS)

    @admin.action(description=f"Queue official backtests ({OFFICIAL_BACKTEST_DAYS} days)")
    def queue_official_backtests(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        queued = 0
        for strategy in queryset:
            for market in strategy.markets:
                try:
                    backtest_request(strategy=strategy, market=market, days=OFFICIAL_BACKTEST_DAYS)
                except BacktestRefused as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                else:
                    queued += 1
        self.message_user(request, f"{queued} backtest(s) queued.", messages.SUCCESS)


@admin.register(StrategyRun)
class StrategyRunAdmin(ReadOnlyAdmin):
    list_display = ["strategy", "started_at", "finished_at", "status", "signals_emitted", "trigger"]
    list_filter = ["status", "trigger", "strategy"]
    list_select_related = ["strategy"]


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = ["period", "strategy", "market", "action", "fraction", "confidence"]
    list_filter = ["action", "strategy", "market"]
    list_select_related = ["strategy"]
    search_fields = ["id", "nonce"]


@admin.register(SignalOutcome)
class SignalOutcomeAdmin(ReadOnlyAdmin):
    list_display = [
        "signal",
        "strategy",
        "market",
        "side",
        "fills",
        "average_price",
        "realised_return",
    ]
    list_select_related = ["signal", "strategy"]


@admin.register(ModelState)
class ModelStateAdmin(ReadOnlyAdmin):
    list_display = ["strategy", "market", "version", "trained_at", "data_start", "data_end", "rows"]
    list_filter = ["strategy", "market"]
    list_select_related = ["strategy"]


@admin.register(Backtest)
class BacktestAdmin(ReadOnlyAdmin):
    list_display = [
        "strategy", "market", "start", "end", "status", "progress", "total_return",
        "max_drawdown", "requested_by",
    ]  # fmt: skip
    list_filter = ["status", "strategy"]
    list_select_related = ["strategy", "requested_by"]
    exclude = ["curve"]


@admin.register(Candle)
class CandleAdmin(ReadOnlyAdmin):
    list_display = [
        "open_time",
        "exchange_id",
        "market",
        "timeframe",
        "open",
        "high",
        "low",
        "close",
    ]
    list_filter = ["exchange_id", "market", "timeframe"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).order_by("-open_time")
