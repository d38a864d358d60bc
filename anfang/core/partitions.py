"""Daily range partitions on PostgreSQL, for every table that grows by the day (events, vehicle
passages, patrol check-ins; DESIGN.md storage) so that retention is a partition drop.

One `DailyPartitions` per table, registered in `TABLES` by the app that owns it. A table is made
partitioned in its app's migration by `partition_table` (Django creates the plain table, which
SQLite keeps as is). Rows for a day without a partition land in the default partition instead of
failing; creating that day's partition later moves them in. A partitioned table's primary key
must include the partition column, and a foreign key pointing at it cannot exist: other tables
refer to its rows by id without a database constraint."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import connection, transaction


@dataclass(frozen=True)
class DailyPartitions:
    table: str
    column: str

    @property
    def name_pattern(self) -> re.Pattern[str]:
        return re.compile(rf"^{self.table}_p(\d{{8}})$")

    def is_partitioned(self) -> bool:
        if connection.vendor != "postgresql":
            return False
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = %s",
                [self.table],
            )
            return cursor.fetchone() is not None

    def partition_name(self, day: dt.date) -> str:
        return f"{self.table}_p{day:%Y%m%d}"

    def existing(self) -> list[dt.date]:
        """Days with an attached partition (UTC days), oldest first."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
                [self.table],
            )
            pattern = self.name_pattern
            days = []
            for (name,) in cursor.fetchall():
                match = pattern.match(name)
                if match:
                    days.append(dt.datetime.strptime(match.group(1), "%Y%m%d").date())
        return sorted(days)

    @staticmethod
    def bounds(day: dt.date) -> tuple[str, str]:
        return f"{day.isoformat()} 00:00:00+00", f"{(day + dt.timedelta(days=1)).isoformat()} 00:00:00+00"

    def create_partition(self, day: dt.date) -> bool:
        """Create the partition for one UTC day, moving that day's rows out of the default
        partition. Returns False if it existed."""
        if day in self.existing():
            return False
        name, (start, end) = self.partition_name(day), self.bounds(day)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {name} (LIKE {self.table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            moved = f"DELETE FROM {self.table}_default WHERE {self.column} >= %s AND {self.column} < %s RETURNING *"
            cursor.execute(f"WITH moved AS ({moved}) INSERT INTO {name} SELECT * FROM moved", [start, end])
            cursor.execute(
                f"ALTER TABLE {self.table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end]
            )
        return True

    def ensure(self, ahead: int, today: dt.date | None = None) -> list[dt.date]:
        """Partitions for today and `ahead` days after it; returns the days created."""
        today = today or dt.datetime.now(dt.UTC).date()
        return [day for day in (today + dt.timedelta(days=n) for n in range(ahead + 1)) if self.create_partition(day)]

    def drop(self, day: dt.date) -> None:
        """Drop one day's partition: its rows go at the cost of a catalogue change, not a scan."""
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.partition_name(day)}")

    def drop_before(self, day: dt.date) -> list[dt.date]:
        dropped = [d for d in self.existing() if d < day]
        for old in dropped:
            self.drop(old)
        return dropped


# table name → its partitions; apps register theirs in AppConfig.ready() (or at import of models).
TABLES: dict[str, DailyPartitions] = {}


def register(table: str, column: str) -> DailyPartitions:
    return TABLES.setdefault(table, DailyPartitions(table, column))


def partition_table(table: str, column: str, *, primary_key: str = "id"):
    """A migration operation's forward function turning the plain table Django created into one
    partitioned by day on `column` (PostgreSQL only; SQLite keeps the plain table). Indexes are
    recreated on the partitioned table; the primary key becomes (primary_key, column); foreign
    keys of the table itself are kept, unique constraints that omit `column` cannot be."""

    def forward(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        old = f"{table}_plain"
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            index_defs = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            )
            foreign_keys = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
            cursor.execute(
                f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY) "
                f"PARTITION BY RANGE ({column})"
            )
            cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({primary_key}, {column})")
            for definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {table} ADD {definition}")
            cursor.execute(f"DROP TABLE {old}")
            for definition in index_defs:
                cursor.execute(definition)
            cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")

    return forward
