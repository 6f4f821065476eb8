from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from trading.models import Fill
from trading.tests.factories import FillFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's timestamptz loader"
)

TEXTS = [
    b"2026-11-26 11:32:03.123456+00",
    b"2026-11-26 11:32:03.12+00",
    b"2026-11-26 11:32:03+00",
    b"0001-01-01 00:00:00+00",
    b"2026-11-26 11:32:03+05:30",
]


@pytest.mark.django_db
def test_a_connection_parses_timestamps_with_the_iso_loader() -> None:
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from psycopg.pq import Format

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert loader.__name__ == "IsoTzLoader" and loader.timezone == connection.timezone


@pytest.mark.parametrize("text", TEXTS)
def test_it_gives_what_djangos_loader_gives(text: bytes) -> None:
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    from oneclick.pg_timestamps import _loader_for

    class DjangoLoader(BaseTzLoader):
        timezone = UTC

    ours, theirs = _loader_for(UTC)(0).load(text), DjangoLoader(0).load(text)
    assert ours == theirs and ours.tzinfo is theirs.tzinfo is UTC


@pytest.mark.django_db
def test_values_read_back_are_the_ones_written_and_infinity_is_still_refused() -> None:
    from django.db.utils import DataError

    at = datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=UTC)
    fill = FillFactory(taken_at=at)
    stored = Fill.objects.values_list("taken_at", flat=True).get(pk=fill.pk)
    assert stored == at and stored.tzinfo is UTC
    assert Fill.objects.filter(taken_at__gt=at - timedelta(microseconds=1)).count() == 1
    with connection.cursor() as cursor, pytest.raises(DataError):
        cursor.execute("SELECT 'infinity'::timestamptz")
        cursor.fetchone()
