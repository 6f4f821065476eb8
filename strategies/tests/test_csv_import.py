from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from strategies.csv_import import (
    CandleImportError,
    guess_from_filename,
    import_candles,
    market_from_symbol_id,
    parse_klines,
)
from strategies.models import Candle

pytestmark = pytest.mark.django_db
H4_MS = 4 * 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def kline(i: int, *, close: str = "42475.23", micro: bool = False, **overrides: str) -> str:
    open_ms = T0 + i * H4_MS
    fields = {
        "open_time": str(open_ms * 1000 if micro else open_ms),
        "open": "42283.58000000",
        "high": "42554.57000000",
        "low": "42261.02000000",
        "close": close,
        "volume": "1271.68108000",
        "close_time": str((open_ms + H4_MS) * 1000 - 1 if micro else open_ms + H4_MS - 1),
        "quote_volume": "53957248.97378930",
        "count": "47134",
        "taker_base": "682.57581000",
        "taker_quote": "28957416.81963260",
        "ignore": "0",
    }
    fields.update(overrides)
    return ",".join(fields.values())


def write(tmp_path: Path, lines: list[str], name: str = "BTCUSDT-4h-2024-01.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_good_binance_file_is_imported(tmp_path: Path) -> None:
    path = write(tmp_path, [kline(i) for i in range(6)])
    result = import_candles(path, exchange_id="binance", market="BTC/USDT", timeframe="4h")
    assert (result.rows, result.added, result.already_stored) == (6, 6, 0)
    first = Candle.objects.order_by("open_time").first()
    assert first.open_time == datetime(2024, 1, 1, tzinfo=UTC)
    assert (first.open, first.close, first.volume) == (
        Decimal("42283.58"),
        Decimal("42475.23"),
        Decimal("1271.68108"),
    )


def test_microsecond_timestamps_and_a_header_line_are_understood(tmp_path: Path) -> None:
    header = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore"
    path = write(tmp_path, [header] + [kline(i, micro=True) for i in range(3)])
    result = import_candles(path, exchange_id="binance", market="BTC/USDT", timeframe="4h")
    assert result.added == 3
    assert Candle.objects.order_by("open_time").first().open_time == datetime(
        2024, 1, 1, tzinfo=UTC
    )


def test_importing_the_same_file_again_adds_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, [kline(i) for i in range(4)])
    import_candles(path, exchange_id="binance", market="BTC/USDT", timeframe="4h")
    again = import_candles(path, exchange_id="binance", market="BTC/USDT", timeframe="4h")
    assert (again.added, again.already_stored) == (0, 4)
    assert Candle.objects.count() == 4


BAD_ROWS = {
    "too few columns": ("1,2,3", "expected 7 to 12 columns"),
    "a word for a price": (kline(1, close="abc"), "close 'abc' is not a number"),
    "an infinite price": (kline(1, close="inf"), "close 'inf' is not a number"),
    "a negative price": (kline(1, low="-1", open="1", close="1"), "prices must be positive"),
    "a close above the high": (kline(1, close="99999"), "low/high do not contain"),
    "a time in seconds": (
        kline(1, open_time=str(T0 // 1000 + 14400)),
        "milliseconds or microseconds",
    ),
    "a close time of another width": (
        kline(1, close_time=str(T0 + 2 * H4_MS + 3_599_999 - H4_MS)),
        "does not end a 4h candle",
    ),
    "a time off the 4h grid": (
        kline(1, open_time=str(T0 + H4_MS + 60_000), close_time=str(T0 + 2 * H4_MS + 59_999)),
        "not on a 4h edge",
    ),
    "too many decimals": (kline(1, volume="1.0000000000001"), "more than 12 decimal places"),
    "a duplicate": (kline(0), "same open time as line 1"),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_a_bad_row_is_reported_with_its_line_number_and_nothing_is_imported(
    tmp_path: Path, case: str
) -> None:
    row, message = BAD_ROWS[case]
    path = write(tmp_path, [kline(0), row, kline(2)])
    with pytest.raises(CandleImportError) as error:
        import_candles(path, exchange_id="binance", market="BTC/USDT", timeframe="4h")
    [problem] = error.value.problems
    assert problem.startswith("line 2: ") and message in problem
    assert Candle.objects.count() == 0


def test_every_bad_row_is_listed_not_just_the_first() -> None:
    with pytest.raises(CandleImportError) as error:
        parse_klines([kline(0), "x", kline(2), kline(3, close="?"), ""], timeframe="4h")
    assert [p.split(":")[0] for p in error.value.problems] == ["line 2", "line 4"]


def test_a_file_without_candles_is_refused() -> None:
    with pytest.raises(CandleImportError, match="no candles"):
        parse_klines(["", ""], timeframe="4h")


def test_a_long_list_of_problems_is_cut_in_the_message() -> None:
    with pytest.raises(CandleImportError) as error:
        parse_klines(["x"] * 60, timeframe="4h")
    assert len(error.value.problems) == 60
    assert str(error.value).endswith("… and 10 more")


def test_the_command_reads_market_and_timeframe_from_a_binance_file_name(
    tmp_path: Path, capsys
) -> None:
    path = write(tmp_path, [kline(i) for i in range(3)], name="ETHUSDC-4h-2024-01.csv")
    call_command("import_candles", str(path))
    assert "binance ETH/USDC 4h: 3 candle(s) added, 0 already stored." in capsys.readouterr().out
    assert set(Candle.objects.values_list("market", "timeframe")) == {("ETH/USDC", "4h")}


def test_the_command_reports_bad_lines_and_imports_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, [kline(0), kline(1, close="abc"), kline(2, high="1")])
    with pytest.raises(CommandError) as error:
        call_command("import_candles", str(path), "--exchange", "binance")
    message = str(error.value)
    assert "nothing imported" in message and "line 2:" in message and "line 3:" in message
    assert Candle.objects.count() == 0


def test_the_command_needs_market_and_timeframe_when_the_name_does_not_say(tmp_path: Path) -> None:
    path = write(tmp_path, [kline(0)], name="history.csv")
    with pytest.raises(CommandError, match="--market and --timeframe"):
        call_command("import_candles", str(path))
    call_command("import_candles", str(path), "--market", "BTC/USDT", "--timeframe", "4h")
    assert Candle.objects.count() == 1


def test_the_command_explains_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_candles", str(tmp_path / "BTCUSDT-4h-x.csv"))


def test_binance_symbol_ids_split_at_the_quote_asset() -> None:
    assert market_from_symbol_id("SOLUSDT") == "SOL/USDT"
    assert market_from_symbol_id("ETHBTC") == "ETH/BTC"
    with pytest.raises(ValueError, match="--market"):
        market_from_symbol_id("USDT")
    assert guess_from_filename(Path("BTCUSDT-1d-2024.csv")) == ("BTC/USDT", "1d")
    assert guess_from_filename(Path("BTCUSDT-3h-2024.csv")) == ("BTC/USDT", None)
