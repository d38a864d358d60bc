"""Bulk writes for city-wide assessments.

`insert_rows` inserts any number of rows with ONE statement. `bulk_create` splits its INSERT
into batches by the backend's parameter limit (999 on SQLite), so the number of queries would
grow with the number of compounds, and binding hundreds of thousands of parameters is slow. On
PostgreSQL the rows go through `COPY … FROM STDIN` (the fastest way in; psycopg encodes the
rows in C). On SQLite they go as one JSON array unpacked by `json_each`. Other backends fall
back to `bulk_create`. `in_background` lets the database write while Python computes;
`lock_writes` keeps a "which rows exist" look-up true until the insert."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper


def _fields(model: type[models.Model], names: Sequence[str]) -> tuple[list[models.Field], list[str]]:
    """The concrete fields named and their columns."""
    fields, columns = [], []
    for name in names:
        f = model._meta.get_field(name)
        if not isinstance(f, models.Field) or f.column is None:
            raise TypeError(f"{model.__name__}.{name} is not a concrete field")
        fields.append(f)
        columns.append(f.column)
    return fields, columns


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_value(db: BaseDatabaseWrapper, field: models.Field, value: Any) -> Any:
    if value is None or isinstance(field, models.JSONField):
        return value
    if isinstance(value, dt.datetime):
        return db.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return value


def _copy(
    db: BaseDatabaseWrapper,
    table: str,
    columns: list[str],
    fields: list[models.Field],
    names: list[str],
    rows: Sequence,
) -> None:
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    is_json = [isinstance(f, models.JSONField) for f in fields]
    with db.cursor() as cursor, cursor.copy(sql) as copy:  # logged like any query when queries are logged
        for r in rows:
            copy.write_row(
                [_json(r[n]) if j and r[n] is not None else r[n] for n, j in zip(names, is_json, strict=True)]
            )


def _json_each(
    db: BaseDatabaseWrapper,
    table: str,
    columns: list[str],
    fields: list[models.Field],
    names: list[str],
    rows: Sequence,
) -> None:
    payload = _json([[_sqlite_value(db, f, r[n]) for f, n in zip(fields, names, strict=True)] for r in rows])
    values = ", ".join(f"json_extract(r.value, '$[{i}]')" for i in range(len(fields)))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM json_each(%s) AS r ORDER BY r.key"
    with db.cursor() as cursor:
        cursor.execute(sql, [payload])


def insert_rows(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], db: BaseDatabaseWrapper | None = None
) -> None:
    """Insert `rows` (dicts keyed by field attname, all with the same keys; JSON fields hold
    lists or dicts) into `model`'s table, through `db` (default: this thread's connection)."""
    if not rows:
        return
    db = db or connection
    names = list(rows[0])
    if db.vendor not in ("sqlite", "postgresql"):
        model._default_manager.db_manager(db.alias or DEFAULT_DB_ALIAS).bulk_create([model(**r) for r in rows])
        return
    fields, columns = _fields(model, names)
    qn = db.ops.quote_name
    insert = _copy if db.vendor == "postgresql" else _json_each
    insert(db, qn(model._meta.db_table), [qn(c) for c in columns], fields, names, rows)


@contextmanager
def in_background(work: Callable[[BaseDatabaseWrapper], None]) -> Iterator[None]:
    """Run `work(connection)` on a second thread, sharing this thread's connection and so its
    transaction, while the body runs; the body must not use the database. The database does its
    part of `work` (parsing, compressing, inserting) while Python goes on, on another core.
    Leaving waits for `work` and raises its exception. Only on PostgreSQL (psycopg connections
    may be shared between threads); elsewhere `work` runs first, on this thread."""
    db = connections[DEFAULT_DB_ALIAS]  # this thread's connection itself, not the per-thread proxy
    if db.vendor != "postgresql":
        work(db)
        yield
        return
    db.inc_thread_sharing()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            done = pool.submit(work, db)
            yield  # should the body raise, leaving the pool still waits for `work` first
        done.result()
    finally:
        db.dec_thread_sharing()


def lock_writes(model: type[models.Model]) -> None:
    """Until the transaction ends, make other transactions that call this for `model` wait: a
    look-up of which rows exist stays true until the insert (a PostgreSQL advisory lock; SQLite
    lets one writer in at a time by itself)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(model._meta.db_table.encode())])
