"""`python -m bench.retention [--rows N] [--compounds N]`: the purge of one day of events on
PostgreSQL (issue 9 acceptance: one day of 1 million events purged in ≤ 1 s).

Builds its own database `anfang_bench_retention` through the project's migrations and a small city
(bench/city.py), then COPYs N events (default 1,000,000) into each of three day partitions of
2001 (far from any real day). Measured:
  - the purge (`retention.purge.purge`, data class events, a dry run first) of day 1: the whole day
    past the cut-off, its partition dropped;
  - the same purge of day 2 with a legal hold on one compound: its rows are moved to the default
    partition first, then the day is dropped;
  - the limits, in the same run: `DROP TABLE` of an equal table (a copy of day 3), and for contrast
    a `DELETE` of day 3's rows (what a purge without partitions would do).
Each figure is printed with its ratio to the DROP TABLE limit and to the DELETE."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

import psycopg

from .measure import Report, Stopwatch

SERVER = os.environ.get("ANFANG_BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "anfang_bench_retention"
TARGET_S = 1.0
DAYS = (dt.date(2001, 1, 1), dt.date(2001, 1, 2), dt.date(2001, 1, 5))
COLUMNS = (
    "compound_id, device_id, kind, state, severity, occurred_at, received_at, source, "
    "external_id, vendor_code, flags, payload, media"
)


def copy_day(dsn: str, day: dt.date, devices: list[tuple[int, int]], n: int) -> float:
    """COPY n events spread over the day into the parent table (they route to the day's partition)."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    step = 86_400 / n
    with psycopg.connect(dsn) as conn, conn.cursor() as cur, Stopwatch() as watch:
        with cur.copy(f"COPY events_event ({COLUMNS}) FROM STDIN") as copy:
            for i in range(n):
                compound_id, device_id = devices[i % len(devices)]
                at = start + dt.timedelta(seconds=i * step)
                copy.write_row((compound_id, device_id, "motion", "pulse", 1, at, at, "api", "", "", "[]", "{}", "[]"))
        conn.commit()
    return watch.seconds


def run(dsn: str, n_rows: int, n_compounds: int) -> Report:
    from django.db import connection

    from anfang.devices.models import Device
    from anfang.events.partitions import EVENTS
    from anfang.retention import purge as p
    from anfang.retention import services

    from . import city

    report = Report()
    city.generate_city(n_compounds)
    devices = list(Device.objects.order_by("id").values_list("compound_id", "id"))
    for day in DAYS:
        EVENTS.create_partition(day)
        seconds = copy_day(dsn, day, devices, n_rows)
        report.say(f"COPY {n_rows:,} events into {EVENTS.partition_name(day)}: {seconds:.1f} s")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE events_event")

    # The limits: DROP TABLE of an equal table, and a DELETE of the same number of rows.
    day3 = EVENTS.partition_name(DAYS[2])
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE bench_equal (LIKE {day3} INCLUDING ALL)")
        cur.execute(f"INSERT INTO bench_equal SELECT * FROM {day3}")
        cur.execute("ANALYZE bench_equal")
        with Stopwatch() as drop:
            cur.execute("DROP TABLE bench_equal")
        start = dt.datetime.combine(DAYS[2], dt.time(), dt.UTC)
        with Stopwatch() as delete:
            cur.execute(
                "DELETE FROM events_event WHERE received_at >= %s AND received_at < %s",
                [start, start + dt.timedelta(days=1)],
            )
            deleted = cur.rowcount
    report.say(f"limit: DROP TABLE of an equal table ({n_rows:,} rows): {drop.seconds * 1000:.1f} ms")
    report.say(f"contrast: DELETE of {deleted:,} rows of one day: {delete.seconds * 1000:.0f} ms")

    def figure(name: str, seconds: float) -> None:
        report.figures[name] = seconds
        report.say(
            f"{name}: {seconds * 1000:.0f} ms = {seconds / drop.seconds:.1f}x DROP TABLE, "
            f"{seconds / delete.seconds:.2f}x DELETE (target ≤ {TARGET_S:.0f} s)"
        )
        if seconds > TARGET_S:
            report.problems.append(f"{name} took {seconds:.2f} s > {TARGET_S} s")

    # Day 1: nothing held. A dry run first (what the page offers), then the purge.
    now1 = dt.datetime.combine(DAYS[0], dt.time(), dt.UTC) + dt.timedelta(days=91)
    with Stopwatch() as dry:
        dry_run = p.purge(now=now1, data_class="events", dry_run=True, trigger="bench")
    figure("dry run of one day", dry.seconds)
    with Stopwatch() as whole:
        done = p.purge(now=now1, data_class="events", trigger="bench")
    events = done.report["classes"]["events"]
    assert done.status == "done", done.errors
    assert events["rows"] == n_rows == dry_run.report["classes"]["events"]["rows"], events
    figure(f"purge of one day ({events['rows']:,} events, partition dropped)", whole.seconds)

    # Day 2: a legal hold on one compound; its rows survive in the default partition.
    admin = city_admin()
    compound_id = devices[0][0]
    from anfang.compounds.models import Compound

    services.place_hold(admin, case_number="BENCH-1", reason="bench", compound=Compound.objects.get(pk=compound_id))
    now2 = now1 + dt.timedelta(days=1)
    with Stopwatch() as held:
        done = p.purge(now=now2, data_class="events", trigger="bench")
    events = done.report["classes"]["events"]
    assert done.status == "done", done.errors
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM events_event_default")
        kept = cur.fetchone()[0]
    assert kept == events["moved_rows"] > 0, (kept, events)
    figure(
        f"purge of one day with a hold on one compound ({events['rows']:,} gone, {kept:,} kept in the default partition)",
        held.seconds,
    )
    return report


def city_admin():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-retention", defaults={"is_superuser": True})
    return user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retention", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="events per day (default 1,000,000)")
    parser.add_argument("--compounds", type=int, default=20, help="compounds in the city (default 20)")
    parser.add_argument("--database", default=DB_NAME)
    args = parser.parse_args(argv)
    from . import __main__ as bench_main

    print(f"# retention purge bench — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores")
    try:
        dsn = bench_main.recreate_database(SERVER, args.database)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unavailable at {SERVER}: {exc}", file=sys.stderr)
        return 2
    bench_main.setup_django(dsn)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    report = run(dsn, args.rows, args.compounds)
    for problem in report.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
