from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from oneclick.schedules import readme_table


class Command(BaseCommand):
    help = "Print every scheduled task, its period and what it calls (the README's table)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(readme_table(), ending="")
