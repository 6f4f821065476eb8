from __future__ import annotations

from django import template

from vault.exchanges import exchange_info

register = template.Library()


@register.filter
def exchange_name(exchange_id: str) -> str:
    """``onetrading`` → ``One Trading (formerly Bitpanda Pro)``; an unknown id as it is."""
    try:
        return exchange_info(exchange_id).name
    except LookupError:
        return exchange_id
