from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from trading.sweeper import sweep


class Command(BaseCommand):
    help = (
        "Settle every order and decision left unfinished (run before a task cluster "
        "starts, so no new signal is processed while an order is in doubt)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = sweep(min_age_seconds=0, start_up=True)
        self.stdout.write(
            f"Reconciled {done['orders']} order(s) and {done['decisions']} decision(s); "
            f"executed {done['missing']} missing decision(s)."
        )
