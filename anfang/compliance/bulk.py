"""Insert many rows in ONE statement whose only parameter is a JSON array of the rows.

`bulk_create` splits its INSERT into batches by the backend's parameter limit (999 on SQLite),
so the number of queries would grow with the number of compounds. Unpacking a JSON array in
SQL (`json_each` on SQLite, `jsonb_array_elements` on PostgreSQL) keeps it at one query, and on
PostgreSQL it is also far faster than 300k bound parameters. Other backends fall back to
`bulk_create`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models


def _value(field: models.Field, value: Any) -> Any:
    if value is None or isinstance(field, models.JSONField):
        return value
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value) if connection.vendor == "sqlite" else value.isoformat()
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return value


def _column(field: models.Field, index: int) -> str:
    if connection.vendor == "sqlite":
        return f"json_extract(r.value, '$[{index}]')"
    if isinstance(field, models.JSONField):
        return f"(r.e -> {index})::jsonb"
    return f"(r.e ->> {index})::{field.db_type(connection)}"


def insert_rows(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """Insert `rows` (dicts keyed by field attname, all with the same keys; JSON fields must hold
    arrays or objects) into `model`'s table."""
    if not rows:
        return
    names = list(rows[0])
    if connection.vendor not in ("sqlite", "postgresql"):
        model._default_manager.bulk_create([model(**r) for r in rows], ignore_conflicts=ignore_conflicts)
        return
    fields = [model._meta.get_field(n) for n in names]
    payload = json.dumps(
        [[_value(f, r[n]) for f, n in zip(fields, names, strict=True)] for r in rows], ensure_ascii=False
    )
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    values = ", ".join(_column(f, i) for i, f in enumerate(fields))
    if connection.vendor == "sqlite":
        source = "json_each(%s) AS r WHERE true ORDER BY r.key"
    else:
        source = "json_array_elements(%s::json) WITH ORDINALITY AS r(e, n) WHERE true ORDER BY r.n"
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) SELECT {values} FROM {source}{conflict}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])
