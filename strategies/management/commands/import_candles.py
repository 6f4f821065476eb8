from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strategies.csv_import import CandleImportError, guess_from_filename, import_candles
from strategies.timeframes import TIMEFRAME_SECONDS


class Command(BaseCommand):
    help = (
        "Load candles from a CSV file in the layout of Binance's public kline dumps. "
        "Every row is checked first; a file with a bad row loads nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--exchange", default="binance", help="Exchange id (default binance).")
        parser.add_argument(
            "--market", help="Symbol like BTC/USDT (default: from a name like BTCUSDT-4h-…)."
        )
        parser.add_argument(
            "--timeframe",
            choices=list(TIMEFRAME_SECONDS),
            help="Candle width (default: from a name like BTCUSDT-4h-…).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        guessed_market, guessed_timeframe = guess_from_filename(path)
        market = options["market"] or guessed_market
        timeframe = options["timeframe"] or guessed_timeframe
        if not market or not timeframe:
            raise CommandError(
                "Cannot tell the market and timeframe from the file name; "
                "pass --market and --timeframe."
            )
        try:
            result = import_candles(
                path, exchange_id=options["exchange"], market=market, timeframe=timeframe
            )
        except CandleImportError as exc:
            raise CommandError(f"{path.name}: nothing imported.\n{exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot read the file ({exc}).") from None
        self.stdout.write(
            f"{options['exchange']} {market} {timeframe}: {result.added} candle(s) added, "
            f"{result.already_stored} already stored."
        )
