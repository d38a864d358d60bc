"""Daily range partitions of the event table on PostgreSQL (issue 5 §1, DESIGN.md storage).

`ensure_partitions` creates the partitions for the coming days ahead of time; the scheduler runs
it daily (`manage.py event_partitions`). Rows that arrive for a day without a partition land in
the default partition instead of failing; creating that day's partition later moves them in.
Dropping old partitions is retention's job; `drop_partitions_before` is the one primitive it uses."""

from __future__ import annotations

import datetime as dt
import re

from django.db import connection, transaction

TABLE = "events_event"
NAME = re.compile(rf"^{TABLE}_p(\d{{8}})$")


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = %s", [TABLE]
        )
        return cursor.fetchone() is not None


def partition_name(day: dt.date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def existing() -> list[dt.date]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [TABLE],
        )
        days = []
        for (name,) in cursor.fetchall():
            match = NAME.match(name)
            if match:
                days.append(dt.datetime.strptime(match.group(1), "%Y%m%d").date())
    return sorted(days)


def create_partition(day: dt.date) -> bool:
    """Create the partition for one UTC day; rows of that day already in the default partition
    are moved into it. Returns False if it existed."""
    if day in existing():
        return False
    name = partition_name(day)
    start, end = f"{day.isoformat()} 00:00:00+00", f"{(day + dt.timedelta(days=1)).isoformat()} 00:00:00+00"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        moved = f"DELETE FROM {TABLE}_default WHERE received_at >= %s AND received_at < %s RETURNING *"
        cursor.execute(f"WITH moved AS ({moved}) INSERT INTO {name} SELECT * FROM moved", [start, end])
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])
    return True


def ensure_partitions(ahead: int, today: dt.date | None = None) -> list[dt.date]:
    """Partitions for today and `ahead` days after it (UTC days); returns the days created."""
    today = today or dt.datetime.now(dt.UTC).date()
    return [day for day in (today + dt.timedelta(days=n) for n in range(ahead + 1)) if create_partition(day)]


def drop_partitions_before(day: dt.date) -> list[dt.date]:
    dropped = []
    for existing_day in existing():
        if existing_day < day:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {partition_name(existing_day)}")
            dropped.append(existing_day)
    return dropped


# DDL of the partitioned table; the migration runs it on PostgreSQL instead of Django's CREATE TABLE.
CREATE_SQL = f"""
CREATE TABLE {TABLE} (
    id bigserial NOT NULL,
    compound_id bigint NOT NULL,
    device_id bigint NOT NULL,
    channel integer NULL CHECK (channel >= 0),
    kind varchar(32) NOT NULL,
    state varchar(8) NOT NULL,
    severity smallint NOT NULL CHECK (severity >= 0),
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    source varchar(8) NOT NULL,
    external_id varchar(128) NOT NULL,
    vendor_code varchar(96) NOT NULL,
    flags jsonb NOT NULL,
    payload jsonb NOT NULL,
    media jsonb NOT NULL,
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);
CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT;
CREATE INDEX event_compound_received ON {TABLE} (compound_id, received_at);
CREATE INDEX event_device_received ON {TABLE} (device_id, received_at);
CREATE INDEX event_kind_received ON {TABLE} (kind, received_at);
"""
