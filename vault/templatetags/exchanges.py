from __future__ import annotations

from django import template

from oneclick.formatting import when
from vault.exchanges import exchange_info

register = template.Library()
# Times in the viewer's zone, labelled (one definition for every page: oneclick/formatting.py).
register.filter("when", when)


@register.filter
def exchange_name(exchange_id: str) -> str:
    """``onetrading`` → ``One Trading (formerly Bitpanda Pro)``; an unknown id as it is."""
    try:
        return exchange_info(exchange_id).name
    except LookupError:
        return exchange_id
