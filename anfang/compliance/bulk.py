"""Bulk writes for city-wide assessments.

`insert_rows` inserts any number of rows with ONE statement. `bulk_create` splits its INSERT
into batches by the backend's parameter limit (999 on SQLite), so the number of queries would
grow with the number of compounds, and binding hundreds of thousands of parameters is slow. On
PostgreSQL the rows go through a binary `COPY … FROM STDIN` (the fastest way in: psycopg writes
each value's binary form in C, nothing is escaped; JSON is serialised by orjson; a text value
may be handed over as its UTF-8 bytes, which is its binary wire form, so canonical JSON already
encoded is not decoded and encoded again). On SQLite they go as one JSON array unpacked by
`json_each`. Other backends fall back to `bulk_create`.

`background_writer` lets the database write while Python computes: its inserts and streams run
on a second thread that shares this thread's connection, and a stream's rows are COPYed as they
are put, so the server parses and stores one compound's result while the rules judge the next.
`lock_writes` keeps a "which rows exist" look-up true until the insert."""

from __future__ import annotations

import datetime as dt
import itertools
import queue
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

Row = Mapping[str, Any]


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


# JSON as bytes; a value JSON cannot hold (a Decimal, a date) is written as its text.
_json_bytes = partial(orjson.dumps, default=str)


def _json(value: Any) -> str:
    return _json_bytes(value).decode()


def _sqlite_value(db: BaseDatabaseWrapper, field: models.Field, value: Any) -> Any:
    if value is None or isinstance(field, models.JSONField):
        return value
    if isinstance(value, bytes):
        return value.decode()  # a text value handed over as UTF-8
    if isinstance(value, dt.datetime):
        return db.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return value


def _pg_type(db: BaseDatabaseWrapper, field: models.Field, sample: Any) -> str:
    """The type psycopg writes a column's values as in a binary COPY."""
    db_type = re.sub(r"\(.*\)$", "", field.db_type(db) or "").strip()
    if isinstance(sample, bytes) and db_type in ("text", "varchar"):
        return "bytea"  # raw bytes on the wire: for a text column, its UTF-8 text
    return db_type


def _copy(
    db: BaseDatabaseWrapper,
    table: str,
    columns: list[str],
    fields: list[models.Field],
    names: list[str],
    rows: Iterable[Row],
) -> None:
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    types = [_pg_type(db, f, first[n]) for f, n in zip(fields, names, strict=True)]
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    from psycopg.types.json import set_json_dumps

    with db.cursor() as cursor:
        set_json_dumps(_json_bytes, cursor.cursor)  # this cursor only
        with cursor.copy(sql) as copy:  # logged like any query when queries are logged
            copy.set_types(types)
            for r in itertools.chain((first,), rows):
                copy.write_row([r[n] for n in names])


def _json_each(
    db: BaseDatabaseWrapper,
    table: str,
    columns: list[str],
    fields: list[models.Field],
    names: list[str],
    rows: Iterable[Row],
) -> None:
    payload = _json([[_sqlite_value(db, f, r[n]) for f, n in zip(fields, names, strict=True)] for r in rows])
    values = ", ".join(f"json_extract(r.value, '$[{i}]')" for i in range(len(fields)))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM json_each(%s) AS r ORDER BY r.key"
    with db.cursor() as cursor:
        cursor.execute(sql, [payload])


def insert_rows(
    model: type[models.Model],
    rows: Iterable[Row],
    db: BaseDatabaseWrapper | None = None,
    *,
    names: Sequence[str] | None = None,
) -> None:
    """Insert `rows` (dicts keyed by the field attnames `names`, by default the first row's keys;
    every row with values of the same types; JSON fields hold lists or dicts; a text field may
    hold UTF-8 bytes) into `model`'s table, through `db` (default: this thread's connection).
    `rows` may be any iterable, consumed once: on PostgreSQL each row is sent as it comes."""
    db = db or connection
    if names is None:
        rows = list(rows)
        if not rows:
            return
        names = list(rows[0])
    if db.vendor not in ("sqlite", "postgresql"):
        model._default_manager.db_manager(db.alias or DEFAULT_DB_ALIAS).bulk_create([model(**r) for r in rows])
        return
    fields, columns = _fields(model, names)
    qn = db.ops.quote_name
    if db.vendor == "sqlite":
        rows = list(rows)
        if not rows:
            return
    insert = _copy if db.vendor == "postgresql" else _json_each
    insert(db, qn(model._meta.db_table), [qn(c) for c in columns], fields, list(names), rows)


_END, _ABORT = object(), object()


class Stream:
    """Rows put one by one, inserted with one statement (`Writer.stream`). Rows are handed to the
    writer thread in batches: waking it for every row would hand the interpreter lock back and
    forth a thousand times."""

    BATCH = 64

    def __init__(self, model: type[models.Model], names: Sequence[str]) -> None:
        self.model, self.names = model, list(names)
        self.pending: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.batch: list[Row] = []

    def put(self, row: Row) -> None:
        self.batch.append(row)
        if len(self.batch) >= self.BATCH:
            self.pending.put(self.batch)
            self.batch = []

    def end(self, failed: bool) -> None:
        if self.batch and not failed:
            self.pending.put(self.batch)
        self.batch = []
        self.pending.put(_ABORT if failed else _END)

    def rows(self) -> Iterator[Row]:
        while (batch := self.pending.get()) is not _END:
            if batch is _ABORT:
                raise RuntimeError("stream aborted")  # leaves the COPY: the server discards it
            yield from batch


class Writer:
    """Inserts in the order asked, on a second thread sharing this thread's connection
    (`background_writer`), or on this thread as soon as asked (`threaded=False`: SQLite)."""

    def __init__(self, db: BaseDatabaseWrapper, threaded: bool) -> None:
        self.db, self.threaded = db, threaded
        self.streams: list[Stream] = []
        self.jobs: list[Future[None]] = []
        self.pool = ThreadPoolExecutor(max_workers=1) if threaded else None

    def insert(self, model: type[models.Model], rows: Sequence[Row]) -> None:
        self._run(insert_rows, model, rows, self.db)

    def stream(self, model: type[models.Model], names: Sequence[str]) -> Stream:
        stream = Stream(model, names)
        self.streams.append(stream)
        if self.threaded:
            self._run(lambda: insert_rows(model, stream.rows(), self.db, names=stream.names))
        return stream

    def _run(self, func: Any, *args: Any) -> None:
        if self.pool is None:
            func(*args)
        else:
            self.jobs.append(self.pool.submit(func, *args))

    def close(self, failed: bool) -> None:
        """End the streams and wait for every insert. Unless `failed` (the body raised, its error
        is the one to see; the streams are abandoned): insert the streamed rows and raise the
        first error of an insert."""
        for stream in self.streams:
            stream.end(failed)
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if failed:
            return
        if self.pool is None:
            for stream in self.streams:
                insert_rows(stream.model, list(stream.rows()), self.db, names=stream.names)
        for job in self.jobs:
            job.result()


@contextmanager
def background_writer() -> Iterator[Writer]:
    """A `Writer` whose inserts and streams run on a second thread sharing this thread's
    connection, and so its transaction, while the body runs (the body must not use the database
    meanwhile): the database parses, compresses and stores while Python goes on, on another core.
    Leaving waits for the writes and raises their error; should the body raise, the streams are
    abandoned. Only on PostgreSQL (psycopg connections may be shared between threads); elsewhere
    inserts run at once and streams at the end, on this thread."""
    db = connections[DEFAULT_DB_ALIAS]  # this thread's connection itself, not the per-thread proxy
    threaded = db.vendor == "postgresql"
    if threaded:
        db.inc_thread_sharing()
    writer = Writer(db, threaded)
    try:
        try:
            yield writer
        except BaseException:
            writer.close(failed=True)
            raise
        writer.close(failed=False)
    finally:
        if threaded:
            db.dec_thread_sharing()


def lock_writes(model: type[models.Model]) -> None:
    """Until the transaction ends, make other transactions that call this for `model` wait: a
    look-up of which rows exist stays true until the insert (a PostgreSQL advisory lock; SQLite
    lets one writer in at a time by itself)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(model._meta.db_table.encode())])
