"""Fan-out point: who is told about new signals, once they are committed.

Dependencies point from trading to strategies, so trading registers its
receiver here (in its AppConfig.ready) and strategies never imports trading.
A receiver gets signal ids as strings: enough to queue tasks whose arguments
carry no secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

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
