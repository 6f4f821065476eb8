"""Failures armed for a paper account's next calls, shared by every process.

Stored in the database so a test (or a demo) can arm a fault in one process and
see a worker in another process hit it. Each fault fires for ``times`` calls,
on one method or on any, and is consumed atomically, so two processes never
both take the last use.
"""

from __future__ import annotations

import ccxt
from django.db.models import F, Q

from paper.errors import PaperRateLimited
from paper.models import PaperFault

Kind = PaperFault.Kind
DEFAULT_RETRY_AFTER = 10


def inject(
    account_key: str,
    fault: str,
    *,
    method: str | None = None,
    times: int = 1,
    retry_after: int | None = None,
) -> PaperFault:
    """Arm ``fault`` (a ``PaperFault.Kind`` value) for the account's next ``times`` calls.

    ``method`` limits it to one PaperExchange method (e.g. ``"create_order"``).
    Raises ValueError for an unknown fault or a non-positive ``times``.
    """
    if fault not in Kind.values:
        raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(Kind.values)}")
    if times < 1:
        raise ValueError("times must be at least 1")
    return PaperFault.objects.create(
        api_key=account_key,
        kind=fault,
        method=method or "",
        remaining=times,
        retry_after=retry_after,
    )


def clear(account_key: str) -> int:
    """Disarm every fault of the account; returns how many were armed."""
    deleted, _ = PaperFault.objects.filter(api_key=account_key).delete()
    return deleted


def take(account_key: str, method: str) -> PaperFault | None:
    """Consume one use of the oldest fault armed for this call, if any."""
    candidates = PaperFault.objects.filter(api_key=account_key, remaining__gt=0).filter(
        Q(method="") | Q(method=method)
    )
    for fault in candidates.order_by("pk"):
        # A conditional decrement: whoever updates the row owns this use.
        taken = PaperFault.objects.filter(pk=fault.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if taken:
            PaperFault.objects.filter(pk=fault.pk, remaining=0).delete()
            return fault
    return None


def raise_before_call(fault: PaperFault, *, exchange_id: str, method: str) -> None:
    """Raise the error a fault stands for, unless it strikes after the call (lost_reply)."""
    where = f"{exchange_id} {method}"
    if fault.kind == Kind.TIMEOUT:
        raise ccxt.RequestTimeout(f"{where} timed out (injected)")
    if fault.kind == Kind.RATE_LIMIT:
        raise PaperRateLimited(
            f"{where} 429 Too Many Requests (injected)",
            retry_after=fault.retry_after or DEFAULT_RETRY_AFTER,
        )
    if fault.kind == Kind.SERVER_ERROR:
        raise ccxt.ExchangeNotAvailable(f"{where} 503 Service Unavailable (injected)")
    if fault.kind == Kind.INSUFFICIENT_FUNDS:
        raise ccxt.InsufficientFunds(
            f"{where} Account has insufficient balance for requested action. (injected)"
        )


def raise_after_call(fault: PaperFault, *, exchange_id: str, method: str) -> None:
    """For lost_reply: the call went through, but its answer never arrives."""
    if fault.kind == Kind.LOST_REPLY:
        raise ccxt.RequestTimeout(
            f"{exchange_id} {method} timed out after the request was sent (injected lost reply)"
        )
