from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strategies.csv_import import CandleImportError, Source, import_sources, sources_of
from strategies.timeframes import TIMEFRAME_SECONDS

BAR_WIDTH = 30


def progress_bar(done: int, total: int, label: str) -> str:
    filled = BAR_WIDTH * done // max(total, 1)
    return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done}/{total} {label}"


class Command(BaseCommand):
    help = (
        "Load candles from CSV files in the layout of Binance's public kline dumps: one "
        "file, a folder of them, or a zip of monthly dumps. Every row of every file is "
        "checked first; an import with a bad row loads nothing. Gaps are reported after."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="A CSV file, a folder, or a zip.")
        parser.add_argument("--exchange", default="binance", help="Exchange id (default binance).")
        parser.add_argument(
            "--market", help="Symbol like BTC/USDT (default: from names like BTCUSDT-4h-…)."
        )
        parser.add_argument(
            "--timeframe",
            choices=list(TIMEFRAME_SECONDS),
            help="Candle width (default: from names like BTCUSDT-4h-…).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        tty = self.stderr.isatty()

        def checked(number: int, total: int, source: Source) -> None:
            line = progress_bar(number, total, f"checking {source.name}")
            # A terminal sees one bar redrawn; a log gets one line per file.
            self.stderr.write(f"\r{line}" if tty else line, ending="" if tty else "\n")

        try:
            results = import_sources(
                sources_of(path),
                exchange_id=options["exchange"],
                market=options["market"],
                timeframe=options["timeframe"],
                on_file=checked,
            )
        except CandleImportError as exc:
            raise CommandError(f"{path.name}: nothing imported.\n{exc}") from None
        except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
            raise CommandError(f"{path}: cannot read it ({exc}).") from None
        if tty:
            self.stderr.write("")
        for result in results:
            self.stdout.write(
                f"{options['exchange']} {result.market} {result.timeframe}: "
                f"{result.added} candle(s) added, {result.already_stored} already stored."
                + (f" Read from {result.files} files." if result.files > 1 else "")
            )
            if result.shortened:
                self.stdout.write(
                    f"  {result.shortened} candle(s) closed early (exchange maintenance): "
                    "kept, as their open time defines them."
                )
            for line in result.gaps.lines():
                self.stdout.write(f"  Gaps: {line}" if not line.startswith(" ") else line)
