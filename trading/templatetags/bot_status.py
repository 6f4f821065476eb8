from __future__ import annotations

from django import template

from trading.health import Health, bot_health
from trading.models import Bot

register = template.Library()


@register.simple_tag
def health_of(bot: Bot) -> Health:
    """``{% health_of bot as health %}``: see trading/health.py (no queries of its own)."""
    return bot_health(bot)
