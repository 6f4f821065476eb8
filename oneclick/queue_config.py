"""Refuse django-q2 settings that would replay, duplicate or lose work."""

from __future__ import annotations

from typing import Any


def queue_config_problems(conf: dict[str, Any]) -> list[str]:
    """Return what is unsafe in a ``Q_CLUSTER`` dict; empty when it is sound."""
    problems = []
    attempts = conf.get("max_attempts", 0)
    # django-q2 reads 0 as "retry for ever": a poisoned task would never stop.
    if not isinstance(attempts, int) or attempts < 1:
        problems.append("max_attempts must be a finite number of at least 1")
    timeout, retry = conf.get("timeout"), conf.get("retry")
    if not isinstance(timeout, int) or not isinstance(retry, int):
        problems.append("timeout and retry must both be set")
    elif timeout >= retry:
        # A task still running when `retry` elapses is handed to a second worker.
        problems.append(f"timeout ({timeout}s) must be below retry ({retry}s)")
    if conf.get("catch_up", True):
        problems.append("catch_up must be False: stale trading ticks must never replay")
    if conf.get("save_limit", 250) < 0 or conf.get("ack_failures") is not True:
        problems.append("failures must be kept (save_limit >= 0 and ack_failures True)")
    return problems
