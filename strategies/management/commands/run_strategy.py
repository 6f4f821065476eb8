from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strategies.models import Strategy, StrategyRun
from strategies.runs import strategy_run


class Command(BaseCommand):
    help = "Run one strategy now: scan its markets and emit signed signals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--even-if-inactive",
            action="store_true",
            help="Run a strategy that is switched off (its signals still reach bots).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        strategy = Strategy.objects.filter(slug=options["slug"]).first()
        if strategy is None:
            known = ", ".join(Strategy.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No strategy {options['slug']!r} (known: {known}).")
        if not strategy.is_active and not options["even_if_inactive"]:
            raise CommandError(f"{strategy.slug} is inactive; pass --even-if-inactive to run it.")
        run = strategy_run(strategy=strategy, trigger=StrategyRun.Trigger.COMMAND)
        self.stdout.write(
            f"{strategy.slug}: {run.get_status_display()}, {run.signals_emitted} signal(s) "
            f"for {len(run.markets_scanned)} market(s)"
        )
        for market in run.already_emitted:
            self.stdout.write(f"  {market}: already emitted for this period")
        for error in run.errors:
            self.stderr.write(f"  {error['market']}: {error['error']}")
        if run.status == StrategyRun.Status.FAILED:
            raise CommandError("The run failed.")
