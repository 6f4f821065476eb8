"""Malformed CSV and zip imports: each gets a clear error naming the file and line, and
nothing is imported (``strategies.csv_import``, ``manage.py import_candles``)."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from strategies import csv_import
from strategies.models import Candle
from strategies.tests.test_csv_import import kline, write

pytestmark = pytest.mark.django_db


def refused(path: Path, *args: str) -> str:
    """The command's error for ``path`` (a traceback here fails the test)."""
    with pytest.raises(CommandError) as error:
        call_command("import_candles", str(path), *args)
    assert Candle.objects.count() == 0
    return str(error.value)


def test_a_field_over_the_csv_field_limit_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, [kline(0), kline(1, volume="9" * 200_000), kline(2)])
    message = refused(path)
    assert "line 2:" in message and "nothing imported" in message
    assert len(message) < 1_000  # the field itself is not echoed back


def test_a_line_is_named_by_its_line_in_the_file_after_a_quoted_field_spanning_lines(
    tmp_path: Path,
) -> None:
    lines = [kline(0), kline(1, ignore='"a\nb\nc"'), kline(2), kline(3, close="abc")]
    message = refused(write(tmp_path, lines))
    assert "line 6:" in message, message  # the file's 6th line, the 4th record


def test_an_unclosed_quote_is_a_clear_error_with_its_line(tmp_path: Path) -> None:
    message = refused(write(tmp_path, [kline(0), kline(1, ignore='"never closed'), kline(2)]))
    assert "line 2: a quote opened on this line is never closed" in message


@pytest.mark.parametrize("open_ms", ["1" + "0" * 22, "9" * 19, "9" * 40])
def test_an_open_time_beyond_any_calendar_names_its_line(tmp_path: Path, open_ms: str) -> None:
    message = refused(write(tmp_path, [kline(0), kline(1, open_time=open_ms, close_time=open_ms)]))
    assert "line 2:" in message and "cannot read" not in message


def test_a_nul_byte_in_a_row_names_its_line(tmp_path: Path) -> None:
    message = refused(write(tmp_path, [kline(0), kline(1, close="42\x00475")]))
    assert "line 2:" in message


@pytest.mark.parametrize("header", [True, False])
def test_a_byte_order_mark_at_the_start_is_understood(tmp_path: Path, header: bool) -> None:
    # A spreadsheet saving the file as "CSV UTF-8" puts one there.
    path = tmp_path / "BTCUSDT-4h-2024-01.csv"
    lines = ["open_time,open,high,low,close,volume,close_time,a,b,c,d,e"] if header else []
    path.write_bytes(("\n".join([*lines, kline(0), kline(1)]) + "\n").encode("utf-8-sig"))
    call_command("import_candles", str(path))
    assert Candle.objects.count() == 2


def test_a_binary_file_named_csv_is_not_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-4h-2024-01.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" * 10)
    assert "not a text file" in refused(path)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _set_method(data: bytes, method: int) -> bytes:
    """The zip with every member's compression method replaced (local and central)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (at := out.find(signature, start)) != -1:
            struct.pack_into("<H", out, at + offset, method)
            start = at + 4
    return bytes(out)


def _set_encrypted(data: bytes) -> bytes:
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := out.find(signature, start)) != -1:
            flags = struct.unpack_from("<H", out, at + offset)[0]
            struct.pack_into("<H", out, at + offset, flags | 0x1)
            start = at + 4
    return bytes(out)


CSV = ("\n".join(kline(i) for i in range(3)) + "\n").encode()


def test_an_encrypted_zip_member_is_a_clear_error(tmp_path: Path) -> None:
    path = _zip(tmp_path / "BTCUSDT-4h-2024-01.zip", {"BTCUSDT-4h-2024-01.csv": CSV})
    path.write_bytes(_set_encrypted(path.read_bytes()))
    message = refused(path)
    assert "BTCUSDT-4h-2024-01.csv" in message and "encrypted" in message


def test_a_zip_member_in_an_unknown_compression_is_a_clear_error(tmp_path: Path) -> None:
    path = _zip(tmp_path / "BTCUSDT-4h-2024-01.zip", {"BTCUSDT-4h-2024-01.csv": CSV})
    path.write_bytes(_set_method(path.read_bytes(), 99))
    message = refused(path)
    assert "BTCUSDT-4h-2024-01.csv" in message and "compression" in message


def test_a_member_that_unpacks_beyond_the_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(csv_import, "MAX_MEMBER_BYTES", 1_000)
    path = tmp_path / "BTCUSDT-4h-2024-01.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-4h-2024-01.csv", CSV * 10)
    message = refused(path)
    assert "BTCUSDT-4h-2024-01.csv" in message and "larger than" in message


def test_zips_nested_too_deeply_are_refused(tmp_path: Path) -> None:
    content = CSV
    name = "BTCUSDT-4h-2024-01.csv"
    for depth in range(6):
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as archive:
            archive.writestr(name, content)
        content, name = inner.getvalue(), f"level{depth}.zip"
    path = tmp_path / "nested.zip"
    path.write_bytes(content)
    assert "nested" in refused(path)


def test_a_damaged_member_names_the_member(tmp_path: Path) -> None:
    path = _zip(tmp_path / "BTCUSDT-4h-2024-01.zip", {"BTCUSDT-4h-2024-01.csv": CSV})
    data = bytearray(path.read_bytes())
    at = data.find(b"1704067200000")
    data[at] = ord("2")  # the CRC no longer matches
    path.write_bytes(bytes(data))
    message = refused(path)
    assert "BTCUSDT-4h-2024-01.csv" in message


@pytest.mark.parametrize(
    "args",
    [
        ["--exchange", "b" * 41],
        ["--exchange", "Binance Spot"],
        ["--market", "BTCUSDT"],
        ["--market", "A" * 20 + "/" + "B" * 20],
    ],
)
def test_an_exchange_or_market_the_candle_table_cannot_hold_is_refused_by_name(
    tmp_path: Path, args: list[str]
) -> None:
    # On PostgreSQL these were a DataError traceback from the insert.
    message = refused(write(tmp_path, [kline(0)]), *args)
    assert "is not an exchange id" in message or "is not a market like BTC/USDT" in message


def test_a_symbol_in_the_file_name_too_long_for_a_market_needs_market_and_timeframe(
    tmp_path: Path,
) -> None:
    message = refused(write(tmp_path, [kline(0)], name=f"{'A' * 40}USDT-4h-2024-01.csv"))
    assert "pass --market and --timeframe" in message


def test_a_link_back_to_the_folder_is_not_followed_forever(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    write(folder, [kline(0), kline(1)])
    (folder / "loop.csv").symlink_to(folder, target_is_directory=True)
    call_command("import_candles", str(folder))
    assert Candle.objects.count() == 2


def test_a_zip_of_many_members_each_under_the_limit_is_refused_past_a_total(
    tmp_path: Path, monkeypatch
) -> None:
    # Failed before: each member was checked alone, and every one was unpacked into
    # memory at once (a zip of a hundred 500 MB members of zeros is a few MB).
    monkeypatch.setattr(csv_import, "MAX_MEMBER_BYTES", 1_000)
    monkeypatch.setattr(csv_import, "MAX_UNPACKED_BYTES", 2_500, raising=False)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for month in range(1, 4):
            archive.writestr(f"BTCUSDT-4h-2024-0{month}.csv", b"0" * 900)
    path = tmp_path / "BTCUSDT-4h-2024.zip"
    with zipfile.ZipFile(path, "w") as archive:  # the total counts through nested zips too
        archive.writestr("inner.zip", inner.getvalue())
    message = refused(path)
    assert "in all" in message and "2500" in message
