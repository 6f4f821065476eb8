"""The dashboard's bot cards, rendered once per state and then read from the cache.

Twenty cards are most of the dashboard's rendering time, and a card only changes
when what it shows changes. Its cache key is a digest of everything the card
template (``trading/_bot_card.html``) reads, so a changed bot gets a new key
rather than a stale card; unused keys expire. One ``get_many`` per page.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from trading.health import bot_health
from trading.models import Bot
from trading.rows import local_get, local_set

# Part of every key: bump it when _bot_card.html or what it reads changes.
VERSION = 4
TTL_SECONDS = 6 * 3600


def card_state(bot: Bot) -> tuple[Any, ...]:
    """Everything the card shows, as plain values (see ``trading.selectors.dashboard_of``)."""
    decision = getattr(bot, "last_decision", None)
    credential, strategy = bot.credential, bot.strategy
    return (
        bot.pk, bot.name, bot.status, bot.status_reason, bot.updated_at, bot.markets,
        bot.quote_currency, bot.equity, bot.cash, bot.allocation, bot.realised_pnl,
        bot.unrealised_pnl, bot.fees_paid, bot.unvalued_fees, strategy.name,
        credential.pk, credential.label, credential.status, credential.exchange_id,
        [(p.market, p.amount, p.avg_entry, p.mark_price) for p in getattr(bot, "held", [])],
        decision and (decision.pk, decision.outcome, decision.created_at,
                      decision.signal.action, decision.signal.fraction, decision.signal.market),
        getattr(bot, "next_signal_at", None),
        bot_health(bot),
        timezone.get_current_timezone_name(), translation.get_language(),
    )  # fmt: skip


def card_key(bot: Bot) -> str:
    digest = hashlib.sha256(repr(card_state(bot)).encode()).hexdigest()[:32]
    return f"botcard:{VERSION}:{bot.pk}:{digest}"


def attach_cards(bots: list[Bot]) -> None:
    """Set ``bot.card_html`` on each bot: one cache read, rendering only the changed ones."""
    keys = {bot.pk: card_key(bot) for bot in bots}
    # A card is a pure function of its key: this process's copy first, then the
    # shared cache for the rest (no round trip when the cards have not changed).
    cached = {k: html for k in keys.values() if (html := local_get(k)) is not None}
    missing = [k for k in keys.values() if k not in cached]
    if missing:
        shared = cache.get_many(missing)
        for k, html in shared.items():
            local_set(k, html)
        cached.update(shared)
    fresh: dict[str, str] = {}
    for bot in bots:
        html = cached.get(keys[bot.pk])
        if html is None:
            html = fresh[keys[bot.pk]] = render_to_string("trading/_bot_card.html", {"bot": bot})
        bot.card_html = mark_safe(html)  # noqa: S308 - our own template's output
    if fresh:
        cache.set_many(fresh, TTL_SECONDS)
        for k, html in fresh.items():
            local_set(k, html)
