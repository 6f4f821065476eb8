"""django-q2 schedules of the vault (listed in oneclick.schedules), created after migrate."""

from __future__ import annotations

from typing import Any

from oneclick.schedules import ensure_periodic

RECHECK_NAME = "vault: re-check exchange keys"


def ensure_schedules(**kwargs: Any) -> None:
    ensure_periodic("vault")
