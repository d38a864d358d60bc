"""Bulk writes of the passage path on PostgreSQL: COPY for inserts and one UPDATE … FROM unnest(…)
for per-row updates, where Django's bulk_create / bulk_update (multi-row statements quoted on the
client, CASE WHEN per row) cost several times more at ingest rates. Other databases (SQLite in
development and tests) take the ORM's path."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from django.db import connection, models


def _json(value: object) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def copy_insert(objs: Sequence[models.Model], *, assign_ids: bool) -> None:
    """Insert `objs` (one model); with `assign_ids` their primary keys are drawn from the table's
    sequence first, so callers can refer to the rows (the passage id goes to the outbox)."""
    if not objs:
        return
    model = type(objs[0])
    if not is_postgres():
        model._default_manager.bulk_create(objs)
        return
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if assign_ids or not f.primary_key]
    with connection.cursor() as cursor:
        if assign_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(objs)]
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        names = ", ".join(str(f.column) for f in fields)
        # Plain values go to COPY as they are (psycopg adapts them); JSON is serialised here. Going
        # through get_db_prep_save for every cell would cost more than the COPY itself.
        json = [isinstance(f, models.JSONField) for f in fields]
        attnames = [f.attname for f in fields]
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for obj in objs:
                values = [getattr(obj, name) for name in attnames]
                copy.write_row([_json(v) if j else v for v, j in zip(values, json, strict=True)])
    for obj in objs:
        obj._state.adding = False
