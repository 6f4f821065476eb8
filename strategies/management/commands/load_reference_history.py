from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from strategies.csv_import import Source
from strategies.management.commands.import_candles import progress_bar
from strategies.track_records import REFERENCE_EXCHANGE, load_reference_history, refresh_all


class Command(BaseCommand):
    help = (
        "Load the real Binance history shipped in strategies/data (exchange id "
        f"{REFERENCE_EXCHANGE!r}) and compute each strategy's official walk-forward record "
        "on it. Idempotent: stored candles and up-to-date records are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Recompute every record, even up-to-date ones."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] > 0

        def on_file(done: int, total: int, source: Source) -> None:
            if verbose:
                self.stdout.write(progress_bar(done, total, source.name))

        for result in load_reference_history(on_file=on_file):
            if verbose:
                self.stdout.write(
                    f"{result.market} {result.timeframe}: {result.rows} candles, {result.added} new"
                )
        records = refresh_all(force=options["force"])
        if verbose:
            self.stdout.write(self.style.SUCCESS(f"{records} official record(s) up to date."))
