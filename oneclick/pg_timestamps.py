"""PostgreSQL ``timestamptz`` values parsed by ``datetime.fromisoformat`` (C).

Django's psycopg backend registers its own loader for ``timestamptz`` (to label the
values with the connection's zone); being a Python subclass of psycopg's loader, it
also replaces psycopg's C parser with psycopg's pure-Python one: a regular expression
and seven ``int()`` per value, ~4x the time of ``fromisoformat``. A page of 300 chart
markers or the export's first 1,000 rows spent several milliseconds there.

The loader below gives the same values (the text as PostgreSQL writes it in ISO
DateStyle at offset +00, which Django's session zone UTC gives, labelled with the
connection's zone exactly as Django's loader does); anything else (another offset,
BC dates, ``infinity``, years past 9999) goes to Django's loader, which returns or
raises what it always did.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cache
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created


@cache
def _loader_for(zone: tzinfo | None) -> type:
    # Imported only on PostgreSQL: psycopg is not needed on the embedded setup.
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class IsoTzLoader(BaseTzLoader):
        # Django's create_cursor compares this with the connection's zone.
        timezone = zone

        def load(self, data: Any) -> datetime:
            try:
                value = datetime.fromisoformat(str(data, "ascii"))
            except ValueError:
                value = None
            if value is None or value.utcoffset():
                # Django's loader converts another offset to the session's zone first;
                # Django sets the session to UTC, so this is only a safety net.
                return super().load(data)
            return value.replace(tzinfo=zone)

    return IsoTzLoader


def use_iso_timestamps(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """On each new PostgreSQL connection (``connection_created``)."""
    if connection.vendor != "postgresql":
        return
    # Imported only on PostgreSQL: psycopg is not needed on the embedded setup.
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if is_psycopg3:
        zone = connection.timezone
        connection.connection.adapters.register_loader("timestamptz", _loader_for(zone))


def connect() -> None:
    connection_created.connect(use_iso_timestamps, dispatch_uid="oneclick.pg_timestamps")
