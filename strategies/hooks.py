"""What strategies needs from the apps above it, handed in at start-up.

- Fan-out: who is told about new signals, once they are committed. Dependencies
  point from trading to strategies, so trading registers its receiver here (in
  its AppConfig.ready) and strategies never imports trading. A receiver gets
  signal ids as strings: enough to queue tasks whose arguments carry no secret.
- Market data: the keyless exchange client candles are read through. The one
  door to exchanges is vault's (``vault.clients.public_client``), and strategies
  may not import vault, so the project's wiring (``oneclick.apps``) provides it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

# exchange id -> a ccxt-shaped client without keys (ccxt ships no types).
PublicClientFactory = Callable[[str], Any]
_public_client_factory: list[PublicClientFactory] = []


def provide_public_client(factory: PublicClientFactory) -> None:
    """Set where keyless market-data clients come from (the last call wins)."""
    _public_client_factory[:] = [factory]


def public_client(exchange_id: str) -> Any:
    """A client without keys for ``exchange_id``'s public market data.

    Raises ImproperlyConfigured when nothing provided one (the project's wiring
    does at start-up).
    """
    if not _public_client_factory:
        raise ImproperlyConfigured("No market-data client: oneclick.apps provides one at start-up")
    return _public_client_factory[0](exchange_id)


SIGNAL_RECEIVERS: list[Callable[[list[str]], object]] = []


def signals_emitted(ids: list[str]) -> None:
    """Call every receiver with ``ids``; one receiver failing does not starve the others.

    Runs after the run's transaction committed, so the signals are already
    stored: a failure is logged (with its traceback) rather than raised into
    the run that emitted them.
    """
    if not ids:
        return
    for receiver in list(SIGNAL_RECEIVERS):
        try:
            receiver(list(ids))
        except Exception:
            logger.exception("Signal receiver %r failed for %d signal(s)", receiver, len(ids))
