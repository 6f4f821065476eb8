from __future__ import annotations

import contextlib

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.events import record_event
from accounts.models import SecurityEvent, User
from accounts.notifications import notify_user
from oneclick.admin_site import UndeletableAdmin
from trading.models import ActivityIncident, Bot, Decision, Fill, Order
from trading.services import BotRefused, bot_pause


def _pause(request: HttpRequest, bots: QuerySet[Bot], why: str) -> list[Bot]:
    """The bots this call paused: one paused or stopped meanwhile (another staff
    member's confirmation, its owner) is not counted, and its owner not told again."""
    paused = []
    for bot in bots.exclude(status__in=[Bot.Status.STOPPED, Bot.Status.PAUSED]):
        with contextlib.suppress(BotRefused):  # stopped since it was listed
            if bot_pause(meta=None, bot=bot, reason=why):
                paused.append(bot)
    count = len(paused)
    record_event(
        # The admin lets only signed-in staff this far.
        user=request.user if isinstance(request.user, User) else None,
        kind=SecurityEvent.Kind.BOTS_PAUSED_BY_STAFF,
        request=request,
        why=why,
        bots=count,
    )
    return paused


@admin.action(description="Pause the selected bots")
def pause_bots(
    modeladmin: admin.ModelAdmin[Bot], request: HttpRequest, queryset: QuerySet[Bot]
) -> None:
    count = len(_pause(request, queryset, "Paused by OneClick staff"))
    modeladmin.message_user(request, f"Paused {count} bot(s).", messages.SUCCESS)


@admin.action(description="Incident switch: pause every bot on the same exchange(s)")
def pause_exchange(
    modeladmin: admin.ModelAdmin[Bot], request: HttpRequest, queryset: QuerySet[Bot]
) -> TemplateResponse | None:
    """Asks first (it stops trading for every user of the exchange), then tells each owner."""
    exchanges = sorted(set(queryset.values_list("credential__exchange_id", flat=True)))
    bots = Bot.objects.filter(credential__exchange_id__in=exchanges).exclude(
        status__in=[Bot.Status.STOPPED, Bot.Status.PAUSED]
    )
    if request.POST.get("confirm") != "yes":
        return TemplateResponse(
            request,
            "admin/trading/bot/confirm_incident_switch.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": "Pause every bot on " + ", ".join(exchanges) + "?",
                "exchanges": exchanges,
                "bot_count": bots.count(),
                "owner_count": bots.values("owner").distinct().count(),
                "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
                "action": "pause_exchange",
                "opts": modeladmin.model._meta,
            },
        )
    names = ", ".join(exchanges)
    paused = _pause(request, bots, f"Paused by OneClick staff: incident on {names}")
    count = len(paused)
    owners = list(User.objects.filter(pk__in={b.owner_id for b in paused}))
    for owner in owners:
        notify_user(
            user=owner,
            subject=f"Your bots on {names} are paused",
            body=(
                f"We paused your bots on {names} because of an incident at the exchange. "
                "No new orders are placed; open positions stay as they are. "
                "Resume them from the bot page once the incident is over."
            ),
        )
    modeladmin.message_user(
        request,
        f"Paused {count} bot(s) on {names}; {len(owners)} owner(s) told by email.",
        messages.WARNING,
    )
    return None


@admin.register(Bot)
class BotAdmin(UndeletableAdmin):
    list_display = ["name", "owner", "strategy", "credential", "allocation", "equity", "status"]
    list_filter = ["status", "credential__exchange_id", "strategy"]
    search_fields = ["name", "owner__email"]
    list_select_related = ["owner", "strategy", "credential"]
    actions = [pause_bots, pause_exchange]
    exclude = ["markets"]
    readonly_fields = [
        "owner", "credential", "strategy", "name", "quote_currency", "allocation", "status",
        "status_reason", "cash", "realised_pnl", "unrealised_pnl", "fees_paid", "equity",
        "peak_equity", "max_drawdown", "marked_at", "created_at", "unvalued_fees",
    ]  # fmt: skip


@admin.register(Decision)
class DecisionAdmin(UndeletableAdmin):
    list_display = ["created_at", "bot", "outcome", "reason", "message"]
    list_filter = ["outcome", "reason"]
    search_fields = ["bot__name", "bot__owner__email", "reason"]
    list_select_related = ["bot"]


@admin.register(Order)
class OrderAdmin(UndeletableAdmin):
    list_display = ["created_at", "bot", "market", "side", "amount", "status", "client_order_id"]
    list_filter = ["status", "exchange_id", "side"]
    search_fields = ["client_order_id", "exchange_order_id", "bot__owner__email"]
    list_select_related = ["bot"]


@admin.register(Fill)
class FillAdmin(UndeletableAdmin):
    list_display = ["taken_at", "order", "amount", "price", "fee", "fee_currency"]
    search_fields = ["trade_id", "order__client_order_id"]
    list_select_related = ["order"]


@admin.register(ActivityIncident)
class ActivityIncidentAdmin(UndeletableAdmin):
    list_display = ["opened_at", "credential", "volume_24h", "position_size", "closed_at"]
    list_select_related = ["credential"]
