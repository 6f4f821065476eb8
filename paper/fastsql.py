"""Hand-written SQL for the queries every paper call makes.

The ORM spends more time building these few statements than the database spends
running them (a paper order is ~1 ms of work); the statements are built once
per table and run on the caller's connection. Values come back as the ORM
would give them (see ``_decimal``).
"""

# Every statement here is built from model metadata (table and column names),
# never from input; values always go as parameters.
# ruff: noqa: S608
from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Context, Decimal
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from paper.models import PaperAccount, PaperBalance, PaperFault, PaperOrder

_PLACES = Decimal(1).scaleb(-12)  # the money fields' decimal places
_FLOAT_DIGITS = Context(prec=15)  # SQLite keeps 15 significant digits (as Django reads it)
_MONEY_CONTEXT = Context(prec=32)

# The account fields a desk may change, written back in one UPDATE.
ACCOUNT_STATE = (
    "rate_minute",
    "rate_count",
    "rate_weight",
    "order_window",
    "order_window_count",
    "requests",
    "weight",
    "settle_from",
)
# What a desk reads of its account: who it is, and that state.
ACCOUNT_FIELDS = ("id", "api_key", "secret_sha256", "funded", *ACCOUNT_STATE)


# SQLite has one writer at a time. Paper writers queue for it here: threads of
# a process on a lock, processes on an flock() of a file beside the database,
# so a waiter wakes the moment the writer is done, instead of SQLite's busy
# handler sleeping 1-100 ms between tries.
_SQLITE_WRITER = threading.Lock()
_lock_files: dict[tuple[int, str], int] = {}


def _lock_file(database: str) -> int | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    # One descriptor per process: a forked child must not share its parent's.
    key = (os.getpid(), database)
    if key not in _lock_files:
        # In the temporary directory, named after the database's real path: every
        # process using that file meets on it, and test runs leave nothing in var/.
        name = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:24]
        path = os.path.join(tempfile.gettempdir(), f"oneclick-paper-{name}.lock")
        _lock_files[key] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return _lock_files[key]


@contextmanager
def writer_turn() -> Iterator[None]:
    """Hold the SQLite writer turn for a paper write (no-op on other databases)."""
    # Only outside a transaction: one nested in a caller's transaction may
    # already hold SQLite's lock, and waiting here could then deadlock.
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with _SQLITE_WRITER:
        descriptor = _lock_file(str(connection.settings_dict["NAME"]))
        if descriptor is None:
            yield
            return
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        value = _FLOAT_DIGITS.create_decimal_from_float(value)
    elif not isinstance(value, Decimal):
        value = Decimal(value)
    return value.quantize(_PLACES, context=_MONEY_CONTEXT)


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _batches_statements() -> bool:
    """Whether one execute may carry several statements (psycopg's client-side binding)."""
    return connection.vendor == "postgresql" and not connection.settings_dict.get(
        "OPTIONS", {}
    ).get("server_side_binding")


# PostgreSQL: commit paper transactions without waiting for their WAL flush; an
# order would otherwise wait ~10 ms for the disk. Consistency is untouched
# (locks, constraints, atomicity); only a crash of the database server itself
# could forget the last fraction of a second of paper trading, which a
# simulation can afford. (SQLite already runs WAL with synchronous=NORMAL.)
_RELAXED_COMMIT = "SET LOCAL synchronous_commit TO OFF"


@cache
def _lock_sql(vendor: str, with_faults: bool) -> str:
    account, fault = _table(PaperAccount), _table(PaperFault)
    columns = ", ".join(f"a.{connection.ops.quote_name(name)}" for name in ACCOUNT_FIELDS)
    armed = "0"
    if with_faults:
        armed = (
            f"EXISTS (SELECT 1 FROM {fault} f WHERE f.api_key = a.api_key "
            "AND f.remaining > 0 AND (f.method = '' OR f.method = %s))"
        )
    # SQLite locks the whole file for the (IMMEDIATE) transaction instead.
    lock = " FOR UPDATE OF a" if vendor == "postgresql" else ""
    return f"SELECT {columns}, {armed} FROM {account} a WHERE a.api_key = %s{lock}"


@dataclass
class Locked:
    account: PaperAccount
    fault_armed: bool
    # Read along with the lock where one round trip can carry it (PostgreSQL):
    # the balances, and whether the given client order id is taken.
    balances: list[PaperBalance] | None = None
    client_id_taken: dict[str, bool] = field(default_factory=dict)


def lock_account(
    api_key: str,
    fault_method: str | None,
    *,
    client_order_id: str | None = None,
    exclude_closed: bool = False,
) -> Locked | None:
    """The key's account row, locked, and whether a fault is armed for the method.

    On PostgreSQL the same round trip then reads the balances (and whether
    ``client_order_id`` is taken) in a statement of its own, after the lock:
    each statement of a READ COMMITTED transaction sees what committed before
    it started, while a statement that waited for the lock would still read
    other tables as they were before the wait.
    """
    sql = _lock_sql(connection.vendor, fault_method is not None)
    params: list[Any] = [fault_method, api_key] if fault_method is not None else [api_key]
    rows: list[tuple[Any, ...]] | None = None
    with connection.cursor() as cursor:
        if _batches_statements():
            follow, follow_params = _balances_by_key(api_key, client_order_id, exclude_closed)
            cursor.execute(f"{_RELAXED_COMMIT}; {sql}; {follow}", params + follow_params)
            cursor.nextset()
            row = cursor.fetchone()
            cursor.nextset()
            rows = cursor.fetchall()
        else:
            if connection.vendor == "postgresql":
                cursor.execute(_RELAXED_COMMIT)
            cursor.execute(sql, params)
            row = cursor.fetchone()
    if row is None:
        return None
    account = PaperAccount.from_db(connection.alias, list(ACCOUNT_FIELDS), row[:-1])
    locked = Locked(account, bool(row[-1]))
    if rows is not None:
        locked.balances = _balance_rows(account, [r for r in rows if r[0] != -1])
        if client_order_id is not None:
            locked.client_id_taken[client_order_id] = any(r[0] == -1 for r in rows)
    return locked


def _balances_by_key(
    api_key: str, client_order_id: str | None, exclude_closed: bool
) -> tuple[str, list[Any]]:
    if client_order_id is None:
        return _balances_sql(by_key=True), [api_key]
    params: list[Any] = [api_key, api_key, client_order_id]
    if exclude_closed:
        params.append(PaperOrder.Status.CLOSED)
    return _balances_and_client_id_sql(exclude_closed, by_key=True), params


def _account_ref(by_key: bool) -> str:
    return f"(SELECT id FROM {_table(PaperAccount)} WHERE api_key = %s)" if by_key else "%s"


@cache
def _balances_sql(*, by_key: bool = False) -> str:
    return (
        f"SELECT id, asset, free, used FROM {_table(PaperBalance)} "
        f"WHERE account_id = {_account_ref(by_key)}"
    )


def balances(account: PaperAccount) -> list[PaperBalance]:
    with connection.cursor() as cursor:
        cursor.execute(_balances_sql(), [account.pk])
        return _balance_rows(account, cursor.fetchall())


@cache
def _balances_and_client_id_sql(exclude_closed: bool, *, by_key: bool = False) -> str:
    return (
        f"{_balances_sql(by_key=by_key)} UNION ALL SELECT -1, NULL, NULL, NULL FROM "
        f"({_client_id_sql(exclude_closed, by_key=by_key)}) taken"
    )


def balances_and_client_id(
    account: PaperAccount, client_order_id: str, *, exclude_closed: bool
) -> tuple[list[PaperBalance], bool]:
    """The balances, and whether the client order id is taken: one round trip."""
    params: list[Any] = [account.pk, account.pk, client_order_id]
    if exclude_closed:
        params.append(PaperOrder.Status.CLOSED)
    with connection.cursor() as cursor:
        cursor.execute(_balances_and_client_id_sql(exclude_closed), params)
        rows = cursor.fetchall()
    taken = any(row[0] == -1 for row in rows)
    return _balance_rows(account, [row for row in rows if row[0] != -1]), taken


def _balance_rows(account: PaperAccount, rows: list[tuple[Any, ...]]) -> list[PaperBalance]:
    found = []
    for pk, asset, free, used in rows:
        row = PaperBalance.from_db(
            connection.alias,
            ["id", "account_id", "asset", "free", "used"],
            [pk, account.pk, asset, _decimal(free), _decimal(used)],
        )
        row.account = account
        found.append(row)
    return found


@cache
def _client_id_sql(exclude_closed: bool, *, by_key: bool = False) -> str:
    sql = (
        f"SELECT 1 FROM {_table(PaperOrder)} "
        f"WHERE account_id = {_account_ref(by_key)} AND client_order_id = %s"
    )
    if exclude_closed:
        sql += " AND status <> %s"
    return sql + " LIMIT 1"


def client_id_taken(account: PaperAccount, client_order_id: str, *, exclude_closed: bool) -> bool:
    params: list[Any] = [account.pk, client_order_id]
    if exclude_closed:
        params.append(PaperOrder.Status.CLOSED)
    with connection.cursor() as cursor:
        cursor.execute(_client_id_sql(exclude_closed), params)
        return cursor.fetchone() is not None


@cache
def _update_sql(model: type, fields: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in fields)
    return f"UPDATE {_table(model)} SET {assignments} WHERE id = %s"


def update(instance: PaperAccount | PaperBalance, fields: tuple[str, ...]) -> None:
    """``instance.save(update_fields=fields)`` for plain (integer, text, money) fields."""
    update_many([(instance, fields)])


def update_many(
    changes: Sequence[tuple[PaperAccount | PaperBalance, tuple[str, ...]]],
) -> None:
    """Several single-row UPDATEs; one round trip where the driver allows it."""
    statements = []
    for instance, fields in changes:
        # Decimals go as they are: Django's SQLite adapter sends them as text, psycopg as numeric.
        values = [getattr(instance, name) for name in fields]
        values.append(instance.pk)
        statements.append((_update_sql(type(instance), fields), values))
    with connection.cursor() as cursor:
        if _batches_statements() and len(statements) > 1:
            cursor.execute(
                "; ".join(sql for sql, _ in statements),
                [value for _, values in statements for value in values],
            )
        else:
            for sql, values in statements:
                cursor.execute(sql, values)


def insert(instances: list[Any]) -> None:
    """``bulk_create`` for new rows of one model, without the ORM's statement building."""
    if not instances:
        return
    model = type(instances[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = []
    for instance in instances:
        for f in fields:
            values.append(f.get_db_prep_save(getattr(instance, f.attname), connection))
    sql = (
        f"INSERT INTO {_table(model)} ({columns}) VALUES "
        + ", ".join([row] * len(instances))
        + " RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        ids = [found[0] for found in cursor.fetchall()]
    for instance, pk in zip(instances, ids, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias
