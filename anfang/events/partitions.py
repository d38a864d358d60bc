"""Daily range partitions of the event table on PostgreSQL (issue 5 §1, DESIGN.md storage).

The machinery is `core.partitions.DailyPartitions`; the event table was the first partitioned
table and keeps its own DDL (below), which its migration runs on PostgreSQL."""

from __future__ import annotations

from anfang.core.partitions import register

TABLE = "events_event"
EVENTS = register(TABLE, "received_at")

# The module's own names, kept for the scheduler and the tests.
is_partitioned = EVENTS.is_partitioned
existing = EVENTS.existing
create_partition = EVENTS.create_partition
ensure_partitions = EVENTS.ensure
drop_partitions_before = EVENTS.drop_before
partition_name = EVENTS.partition_name


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
