"""Handling-time figures computed in the database, the same way on PostgreSQL and SQLite.

`Seconds(end, start)` is the time between two timestamps in seconds (NULL when either is NULL);
`Percentile(expr, p)` is the continuous percentile of a group (PostgreSQL `percentile_cont`,
which ignores NULLs). SQLite has no percentile, so the same aggregate is registered on each
SQLite connection as a small Python aggregate with the same interpolation: a page or a daily
record asks the database for a few numbers per group, never for every alarm."""

from __future__ import annotations

import math
from typing import Any

from django.db.models import Aggregate, FloatField, Func


class Seconds(Func):
    """`end - start` in seconds, as a float."""

    output_field = FloatField()

    def __init__(self, end: Any, start: Any, **extra: Any) -> None:
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(EXTRACT(EPOCH FROM (%(expressions)s)))::double precision",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django keeps datetimes as ISO text in UTC there; julianday() reads them.
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return f"((julianday({end_sql}) - julianday({start_sql})) * 86400.0)", (*end_params, *start_params)


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class _SQLitePercentile:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return percentile_cont(self.values, self.fraction)


SQLITE_PERCENTILE = "anfang_percentile_cont"


def _register_sqlite(connection: Any) -> None:
    """Once per raw SQLite connection (the wrapper keeps a reference to the one it registered on)."""
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_anfang_percentile_on", None) is not raw:
        raw.create_aggregate(SQLITE_PERCENTILE, 2, _SQLitePercentile)
        connection._anfang_percentile_on = raw


class Percentile(Aggregate):
    """Continuous percentile of `expression` over the group (NULLs ignored)."""

    name = "Percentile"
    function = "percentile_cont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must lie in [0, 1]")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        _register_sqlite(connection)
        clone = self.copy()  # a template passed as an argument would clash with FILTER's
        clone.function = SQLITE_PERCENTILE
        clone.template = "%(function)s(%(expressions)s, %(fraction)s)"
        return clone.as_sql(compiler, connection, **extra)
