from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from strategies.csv_import import (
    CandleImportError,
    guess_from_filename,
    import_candles,
    market_from_symbol_id,
    parse_klines,
)
from strategies.models import Candle, CandleGap

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
    assert first is not None
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
    assert Candle.objects.order_by("open_time").values_list("open_time", flat=True)[0] == datetime(
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
    "a close time past the candle's end": (
        kline(1, close_time=str(T0 + 3 * H4_MS - 1)),
        "does not end a 4h candle",
    ),
    "a close time before its open time": (
        kline(1, close_time=str(T0 + H4_MS - 1)),
        "does not end a 4h candle",
    ),
    "a close time in another unit than its open time": (
        kline(1, close_time=str((T0 + 2 * H4_MS) * 1000 - 1)),
        "in microseconds but its open time is in milliseconds",
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
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_candles", str(tmp_path / "broken.zip"))


def test_binance_symbol_ids_split_at_the_quote_asset() -> None:
    assert market_from_symbol_id("SOLUSDT") == "SOL/USDT"
    assert market_from_symbol_id("ETHBTC") == "ETH/BTC"
    with pytest.raises(ValueError, match="--market"):
        market_from_symbol_id("USDT")
    assert guess_from_filename(Path("BTCUSDT-1d-2024.csv")) == ("BTC/USDT", "1d")
    assert guess_from_filename(Path("BTCUSDT-3h-2024.csv")) == ("BTC/USDT", None)


# Issue 11, item 1: real dumps imported as they are.
FIXTURES = Path(__file__).parent / "data"
HALT = FIXTURES / "BTCUSDT-1h-2023-03-24.csv"
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_a_real_shortened_close_time_is_accepted_and_the_open_time_defines_the_candle(
    capsys,
) -> None:
    call_command("import_candles", str(HALT))
    halted = Candle.objects.get(open_time=datetime(2023, 3, 24, 12, tzinfo=UTC))
    assert (halted.market, halted.timeframe, halted.close) == ("BTC/USDT", "1h", Decimal(28080))
    assert Candle.objects.count() == 6
    out = capsys.readouterr().out
    assert "binance BTC/USDT 1h: 6 candle(s) added" in out
    assert "1 candle(s) closed early" in out


def test_gaps_are_reported_after_an_import_with_count_longest_and_where(capsys) -> None:
    call_command("import_candles", str(HALT))
    out = capsys.readouterr().out
    assert (
        "Gaps: 1 gap(s), 1 candle(s) missing; longest 1 candle(s) from "
        "2023-03-24 13:00 to 2023-03-24 13:00 UTC"
    ) in out
    [gap] = CandleGap.objects.all()
    assert (gap.market, gap.first_missing, gap.candles, gap.permanent) == (
        "BTC/USDT",
        datetime(2023, 3, 24, 13, tzinfo=UTC),
        1,
        False,
    )


def test_the_longest_gap_is_named_among_several(tmp_path: Path) -> None:
    rows = [kline(i) for i in (0, 1, 3, 4, 9, 10)]  # 1 missing at 2, 4 missing at 5..8
    result = import_candles(
        write(tmp_path, rows), exchange_id="binance", market="BTC/USDT", timeframe="4h"
    )
    assert result.gaps.longest is not None
    assert (result.gaps.count, result.gaps.missing, result.gaps.longest.candles) == (2, 5, 4)
    assert result.gaps.longest.first_missing == datetime(2024, 1, 1, 20, tzinfo=UTC)
    assert result.gaps.lines()[0].startswith("2 gap(s), 5 candle(s) missing; longest 4")


def test_a_later_import_that_fills_a_gap_removes_it(tmp_path: Path) -> None:
    import_candles(
        write(tmp_path, [kline(0), kline(2)]),
        exchange_id="binance",
        market="BTC/USDT",
        timeframe="4h",
    )
    assert CandleGap.objects.count() == 1
    filled = import_candles(
        write(tmp_path, [kline(1)], name="fill.csv"),
        exchange_id="binance",
        market="BTC/USDT",
        timeframe="4h",
    )
    assert filled.gaps.count == 0 and not CandleGap.objects.exists()


def test_a_file_mixing_milliseconds_and_microseconds_is_refused_with_the_line_named(
    tmp_path: Path,
) -> None:
    header = "open_time,open,high,low,close,volume,close_time"
    path = write(tmp_path, [header, kline(0), kline(1), kline(2, micro=True), kline(3)])
    with pytest.raises(CandleImportError) as error:
        import_candles(path, exchange_id="binance", market="BTC/USDT", timeframe="4h")
    [problem] = error.value.problems
    assert problem.startswith("line 4: ")
    assert "in microseconds but line 2 is in milliseconds" in problem
    assert Candle.objects.count() == 0


def test_a_header_line_and_a_shortened_close_in_microseconds_are_understood(
    tmp_path: Path,
) -> None:
    header = "open_time,open,high,low,close,volume,close_time"
    early = kline(1, micro=True, close_time=str((T0 + H4_MS + 3_600_000) * 1000 + 17))
    path = write(tmp_path, [header, kline(0, micro=True), early])
    result = import_candles(path, exchange_id="binance", market="BTC/USDT", timeframe="4h")
    assert (result.added, result.shortened) == (2, 1)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BTCUSDT-4h.csv", ("BTC/USDT", "4h")),
        ("BTCUSDT-4h-2024-01.csv", ("BTC/USDT", "4h")),
        ("BTCUSDT-4h-2024-01.zip", ("BTC/USDT", "4h")),
        ("ETHUSDC-1h-2024-01-31.csv", ("ETH/USDC", "1h")),
        ("SOLUSDT-1d-2024-01.CSV", ("SOL/USDT", "1d")),
        ("BTCUSDT-4h.txt", (None, None)),
        ("BTCUSDT.csv", (None, None)),
    ],
)
def test_binance_file_names_with_and_without_a_month_are_recognised(name, expected) -> None:
    assert guess_from_filename(Path(name)) == expected


def month_lines(month: int, *, micro: bool = False, skip: tuple[int, ...] = ()) -> list[str]:
    """The 4h candles of ``month`` 2024 in Binance's layout, but for the ``skip``-th ones."""
    first, end = (
        (datetime(2024, m, 1, tzinfo=UTC) - datetime(2024, 1, 1, tzinfo=UTC)).days * 6
        for m in (month, month + 1)
    )
    return [kline(i, micro=micro) for i in range(first, end) if i - first not in skip]


def monthly_zip(path: Path, months: dict[str, list[str]]) -> Path:
    """A zip of Binance monthly zips, each holding its one CSV, as data.binance.vision has them."""
    with zipfile.ZipFile(path, "w") as outer:
        for name, lines in months.items():
            inner = io.BytesIO()
            with zipfile.ZipFile(inner, "w") as archive:
                archive.writestr(f"{name}.csv", "\n".join(lines) + "\n")
            outer.writestr(f"{name}.zip", inner.getvalue())
    return path


def test_a_zip_of_monthly_dumps_is_imported_in_one_command_with_a_progress_bar(
    tmp_path: Path, capsys
) -> None:
    path = monthly_zip(
        tmp_path / "history.zip",
        {
            "BTCUSDT-4h-2024-01": month_lines(1),
            "BTCUSDT-4h-2024-02": month_lines(2, skip=(2, 3)),
            # Binance's spot dumps turned to microseconds in 2025: per file, that is fine.
            "BTCUSDT-4h-2024-03": month_lines(3, micro=True),
        },
    )
    call_command("import_candles", str(path))
    captured = capsys.readouterr()
    assert "binance BTC/USDT 4h: 544 candle(s) added, 0 already stored. Read from 3 files." in (
        captured.out
    )
    assert "longest 2 candle(s) from 2024-02-01 08:00 to 2024-02-01 12:00 UTC" in captured.out
    bars = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert [bar.split("] ")[1].split(" ")[0] for bar in bars] == ["1/3", "2/3", "3/3"]
    assert bars[-1].startswith("[" + "#" * 30 + "]")
    assert CandleGap.objects.count() == 1


def test_a_folder_of_csv_and_zip_files_for_several_markets_is_imported(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    write(folder, month_lines(1), name="BTCUSDT-4h-2024-01.csv")
    write(folder, month_lines(1), name="ETHUSDT-4h-2024-01.csv")
    with zipfile.ZipFile(folder / "BTCUSDT-4h-2024-02.zip", "w") as archive:
        archive.writestr("BTCUSDT-4h-2024-02.csv", "\n".join(month_lines(2)) + "\n")
    (folder / "notes.txt").write_text("not a dump")
    call_command("import_candles", str(folder))
    counts = dict(
        Candle.objects.values("market").annotate(n=Count("id")).values_list("market", "n")
    )
    assert counts == {"BTC/USDT": 186 + 174, "ETH/USDT": 186}


def test_one_bad_file_in_a_folder_imports_nothing_and_is_named_with_its_line(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    write(folder, month_lines(1), name="BTCUSDT-4h-2024-01.csv")
    bad = month_lines(2)
    bad[3] = kline(3, close="abc")
    write(folder, bad, name="BTCUSDT-4h-2024-02.csv")
    with pytest.raises(CommandError) as error:
        call_command("import_candles", str(folder))
    assert "BTCUSDT-4h-2024-02.csv line 4: close 'abc' is not a number" in str(error.value)
    assert Candle.objects.count() == 0


def test_overlapping_files_that_disagree_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    write(folder, month_lines(1), name="BTCUSDT-4h-2024-01.csv")
    write(folder, [kline(2, close="42300")], name="BTCUSDT-4h-2024-01-01.csv")
    with pytest.raises(
        CommandError, match=r"2024-01-01 08:00 differs from the one in BTCUSDT-4h-2024-01"
    ):
        call_command("import_candles", str(folder))
    assert Candle.objects.count() == 0


def test_a_folder_file_whose_name_says_nothing_needs_market_and_timeframe(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    write(folder, month_lines(1), name="history.csv")
    with pytest.raises(CommandError, match=r"history\.csv: cannot tell the market"):
        call_command("import_candles", str(folder))


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not beside the clone")
def test_a_real_multi_year_binance_series_imports_and_its_one_gap_is_reported(capsys) -> None:
    call_command("import_candles", str(SHARED_DATA / "BTCUSDT-1h.csv"))
    out = capsys.readouterr().out
    assert "binance BTC/USDT 1h: 26766 candle(s) added" in out
    assert "Gaps: 1 gap(s), 1 candle(s) missing; longest 1 candle(s) from 2023-03-24 13:00" in out
