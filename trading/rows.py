"""Table rows and feed items rendered once per state, then reused.

Fifty history rows are most of the history page's time (Django's template engine
resolves every ``{{ }}`` and filter per cell), and a row only changes when what it
shows changes. As with the dashboard's bot cards (``trading/cards.py``), a row is
found by everything its template reads (its state, plus the viewer's zone and
language), so a changed row is a new entry rather than a stale fragment.

The fragments live in a bounded per-process LRU, not the shared cache: a fragment
is a pure function of its state, so processes need not share them, and reading
them costs no round trip (on the embedded setup the shared cache is a database
table, and a read would be one more query per list).

The state is read from the row itself, not from ``updated_at``: compare-and-set
updates (``filter(...).update(...)``) do not bump ``auto_now`` fields.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from trading.models import Decision, Fill, Order

# Part of every key: bump it when a row template or what it reads changes.
VERSION = 1
MAX_ENTRIES = 5000  # ~0.5 kB each: a few MB per process at most

_fragments: OrderedDict[Hashable, Any] = OrderedDict()
# Chart series (trading.selectors): hundreds of points each (~100 kB), so fewer of them.
MAX_SERIES = 200
_series: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def history_order_state(o: Order) -> tuple[Any, ...]:
    return (
        o.pk, o.created_at, o.bot.name, o.bot.quote_currency, o.market, o.side, o.amount,
        o.filled, o.average, o.cost, o.status,
    )  # fmt: skip


def history_fill_state(f: Fill) -> tuple[Any, ...]:
    order = f.order
    return (
        f.pk, f.taken_at, order.bot.name, order.bot.quote_currency, order.market, order.side,
        f.amount, f.price, f.fee, f.fee_currency, f.order_id, order.exchange_order_id,
        order.client_order_id,
    )  # fmt: skip


def order_item_state(o: Order) -> tuple[Any, ...]:
    return (o.pk, o.created_at, o.market, o.side, o.amount, o.status)


def recent_order_state(o: Order) -> tuple[Any, ...]:
    return (*order_item_state(o), o.bot.name)


def decision_item_state(d: Decision) -> tuple[Any, ...]:
    # What ``decision_words`` reads too: the signal's share, the bot's number of
    # markets and the order the decision placed.
    # (No order: Django's RelatedObjectDoesNotExist is an AttributeError.)
    order = getattr(d, "order", None)
    return (
        d.pk, d.created_at, d.signal.action, d.signal.market, d.signal.fraction, d.outcome,
        d.message, len(d.bot.markets),
        (order.pk, order.market, order.side, order.amount, order.filled) if order else None,
    )  # fmt: skip


def recent_decision_state(d: Decision) -> tuple[Any, ...]:
    return (*decision_item_state(d), d.bot.name)


def filter_form_state(form: Any) -> tuple[Any, ...]:
    """A filter form's fields are a function of their choices and their own submitted
    values (only those: other query parameters, the page number say, do not make
    new entries)."""
    data = form.data
    return (
        form.is_bound,
        tuple((name, tuple(getattr(field, "choices", ()))) for name, field in form.fields.items()),
        tuple(tuple(data.getlist(name)) for name in form.fields) if form.is_bound else None,
    )


def local_get(key: Hashable, *, series: bool = False) -> Any:
    """A value kept in this process's LRU (None if absent): for values that are a
    pure function of their key, so no process needs another's. ``series``: in the
    smaller LRU kept for chart series."""
    store = _series if series else _fragments
    with _lock:
        value = store.get(key)
        if value is not None:
            store.move_to_end(key)
        return value


def local_set(key: Hashable, value: Any, *, series: bool = False) -> None:
    store, bound = (_series, MAX_SERIES) if series else (_fragments, MAX_ENTRIES)
    with _lock:
        store[key] = value
        while len(store) > bound:
            store.popitem(last=False)


def clear_local() -> None:
    with _lock:
        _fragments.clear()
        _series.clear()


def render_rows(
    template: str, rows: Sequence[Any], state: Callable[[Any], tuple[Any, ...]]
) -> list[SafeString]:
    """Each row rendered with ``template`` (context ``{"row": row}``), in order;
    only rows whose state is new are rendered."""
    # The viewer's zone and language change every time and label shown.
    viewer = (timezone.get_current_timezone_name(), translation.get_language())
    out = []
    for row in rows:
        key = (VERSION, template, viewer, state(row))
        html = local_get(key)
        if html is None:
            html = mark_safe(render_to_string(template, {"row": row}))  # noqa: S308 - our template
            local_set(key, html)
        out.append(html)
    return out
