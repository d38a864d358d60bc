"""`python -m bench.patrol [--compounds N] [--days N] [--reads N]`: the patrol engine on PostgreSQL
(issue 7 acceptance): evaluating a month of a city's check-ins (1,500 compounds, ~1M check-ins)
≤ 5 s, and a reader upload of 10,000 reads ≤ 1 s.

Builds its own database `anfang_bench_patrol` through the project's migrations and the synthetic
city (bench/city.py), then per compound six checkpoints on one ordered route with a plan of four
rounds a day; the runs of the last N days come from `generate_runs`, and their check-ins (about
6 per run, some missed, some read twice) are COPYed in. Measured:
  - `services.evaluate_runs` over every run of the month (load runs + reads in bulk, evaluate in
    Python in one pass, write the results back with COPY + UPDATE); limit in the same run: a raw
    SELECT of the same check-in rows (fetched into Python);
  - `readers.ingest_upload` of one CSV upload of 10,000 reads (parse, dedup, match to runs, insert,
    re-evaluate the runs touched); limit in the same run: a raw COPY of 10,000 equal rows.
Each figure is printed with its ratio to its limit."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time

import psycopg

from .measure import Report, Stopwatch

SERVER = os.environ.get("ANFANG_BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "anfang_bench_patrol"
EVAL_TARGET_S = 5.0
UPLOAD_TARGET_S = 1.0
CHECKPOINTS = 6
LEG_MINUTES = 4
COLUMNS = (
    "compound_id, checkpoint_id, code, run_id, guard_id, reader_id, source, occurred_at, device_time, "
    "received_at, clock_offset_seconds, flags, eligible, note, client_id"
)


def build_patrol(n_days: int) -> tuple[dt.date, dt.date]:
    """Checkpoints, a route and a plan per compound; the runs of the last n_days (local days)."""
    from django.contrib.auth import get_user_model

    from anfang.compounds.models import Compound
    from anfang.patrol.models import Checkpoint, Plan, Route, RouteCheckpoint
    from anfang.patrol.schedule import local_day
    from anfang.patrol.services import generate_runs

    guard, _ = get_user_model().objects.get_or_create(username="bench-guard")
    compounds = list(Compound.objects.order_by("pk").values_list("pk", flat=True))
    Checkpoint.objects.bulk_create(
        Checkpoint(compound_id=c, name=f"点{i}", code=f"C{c}-{i}") for c in compounds for i in range(CHECKPOINTS)
    )
    Route.objects.bulk_create(Route(compound_id=c, name="夜巡线", ordered=True) for c in compounds)
    routes = dict(Route.objects.values_list("compound_id", "pk"))
    stops = []
    for compound_id, cp_id, code in Checkpoint.objects.order_by("pk").values_list("compound_id", "pk", "code"):
        position = int(code.rsplit("-", 1)[1])
        stops.append(
            RouteCheckpoint(
                route_id=routes[compound_id],
                checkpoint_id=cp_id,
                position=position + 1,
                expected_minutes=0 if position == 0 else LEG_MINUTES,
            )
        )
    RouteCheckpoint.objects.bulk_create(stops, batch_size=5000)
    today = local_day(dt.datetime.now(dt.UTC))
    first, last = today - dt.timedelta(days=n_days), today - dt.timedelta(days=1)
    Plan.objects.bulk_create(
        Plan(
            route_id=routes[c],
            name="四班巡查",
            start_times=["02:00", "08:00", "14:00", "20:00"],
            window_minutes=60,
            weekdays=[],
            valid_from=first,
            guard=guard,
        )
        for c in compounds
    )
    generate_runs(first, last)
    return first, last


def copy_checkins(dsn: str, first: dt.date, last: dt.date, seed: int = 7) -> int:
    """About six reads per run: 4 % of checkpoints missed, 2 % read twice."""
    from django.db import connection

    from anfang.patrol.models import CHECKINS

    rng = random.Random(seed)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT r.id, r.compound_id, r.guard_id, r.window_start, array_agg(s.checkpoint_id ORDER BY s.position), "
            "array_agg(c.code ORDER BY s.position) FROM patrol_patrolrun r "
            "JOIN patrol_routecheckpoint s ON s.route_id = r.route_id JOIN patrol_checkpoint c ON c.id = s.checkpoint_id "
            "GROUP BY r.id ORDER BY r.id"
        )
        runs = cur.fetchall()
    day = first
    while day <= last + dt.timedelta(days=1):
        CHECKINS.create_partition(day)
        day += dt.timedelta(days=1)
    n = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY patrol_checkin ({COLUMNS}) FROM STDIN") as copy:
            for run_id, compound_id, guard_id, start, cps, codes in runs:
                at = start + dt.timedelta(minutes=2)
                for cp, code in zip(cps, codes, strict=True):
                    at += dt.timedelta(minutes=LEG_MINUTES, seconds=rng.randint(-30, 60))
                    if rng.random() < 0.04:
                        continue
                    row = (compound_id, cp, code, run_id, guard_id, None, "phone", at, at, at, 0, "[]", True, "", "")
                    copy.write_row(row)
                    n += 1
                    if rng.random() < 0.02:
                        again = at + dt.timedelta(seconds=20)
                        copy.write_row((*row[:7], again, again, again, 0, '["duplicate"]', True, "", ""))
                        n += 1
        conn.commit()
    return n


def reuse() -> int:
    """Keep the city and check-ins of an earlier run; drop what its upload measurement added."""
    from django.db import connection

    from anfang.devices.models import Device
    from anfang.patrol.models import ReaderUpload

    readers = list(Device.objects.filter(serial="BENCH-RD").values_list("pk", flat=True))
    with connection.cursor() as cur:
        cur.execute("DELETE FROM patrol_checkin WHERE reader_id = ANY(%s)", [readers])
        ReaderUpload.objects.filter(reader_id__in=readers).delete()
        Device.objects.filter(pk__in=readers).delete()
        cur.execute("SELECT count(*) FROM patrol_checkin WHERE eligible")
        return cur.fetchone()[0]


def run(dsn: str, n_compounds: int, n_days: int, n_reads: int, *, reused: int | None = None) -> Report:
    from django.db import connection

    from anfang.devices import choices as dc
    from anfang.devices.models import Device
    from anfang.patrol import readers
    from anfang.patrol.models import Checkpoint, PatrolRun
    from anfang.patrol.services import evaluate_runs

    from . import city

    report = Report()
    if reused is None:
        with Stopwatch() as built:
            city.generate_city(n_compounds)
            first, last = build_patrol(n_days)
        n_runs = PatrolRun.objects.count()
        report.say(f"city of {n_compounds:,} compounds, {n_runs:,} runs over {n_days} days: {built.seconds:.0f} s")
        with Stopwatch() as copied:
            n_checkins = copy_checkins(dsn, first, last)
        report.say(f"COPY {n_checkins:,} check-ins: {copied.seconds:.1f} s")
        PatrolRun.objects.update(closed_at=dt.datetime.now(dt.UTC))
    else:
        n_checkins = reused
        report.say(f"reusing the city of an earlier run: {PatrolRun.objects.count():,} runs, {n_checkins:,} check-ins")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE patrol_checkin")
        cur.execute("VACUUM ANALYZE patrol_patrolrun")

    run_ids = list(PatrolRun.objects.order_by("pk").values_list("pk", flat=True))
    lo, hi = run_ids[0], run_ids[-1]

    def raw_select() -> float:
        with connection.cursor() as cur, Stopwatch() as watch:
            cur.execute(
                "SELECT run_id, checkpoint_id, occurred_at FROM patrol_checkin WHERE run_id BETWEEN %s AND %s AND eligible",
                [lo, hi],
            )
            rows = cur.fetchall()
        assert len(rows) == n_checkins, (len(rows), n_checkins)
        return watch.seconds

    raw_select()  # warm the cache for both
    limit = min(raw_select() for _ in range(3))
    report.say(f"limit: raw SELECT of the {n_checkins:,} check-in rows: {limit * 1000:.0f} ms")
    times = []
    for _ in range(3):
        with Stopwatch() as watch:
            results = evaluate_runs(run_ids)
        times.append(watch.seconds)
    best = min(times)
    completed = sum(r.status == "completed" for r in results.values())
    report.figures["evaluate month"] = best
    report.say(
        f"evaluate a month ({len(results):,} runs, {n_checkins:,} check-ins; {completed:,} completed): "
        f"{best:.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}) = {best / limit:.1f}x raw SELECT "
        f"(target ≤ {EVAL_TARGET_S:.0f} s)"
    )
    if best > EVAL_TARGET_S:
        report.problems.append(f"month evaluation took {best:.2f} s > {EVAL_TARGET_S} s")

    # A reader upload of n_reads reads: one compound's checkpoints over the last days.
    compound_id = Checkpoint.objects.order_by("pk").values_list("compound_id", flat=True).first()
    reader = Device.objects.create(
        compound_id=compound_id,
        name="巡更棒-bench",
        subsystem=dc.Subsystem.PATROL,
        device_type=dc.DeviceType.PATROL_READER,
        serial="BENCH-RD",
    )
    codes = list(Checkpoint.objects.filter(compound_id=compound_id).values_list("code", flat=True))
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(11)

    def body(seed_minutes: int) -> str:
        start = now - dt.timedelta(days=min(n_days, 25)) + dt.timedelta(minutes=seed_minutes)
        step = (now - dt.timedelta(hours=1) - start) / n_reads
        lines = ["tag,time,reader"]
        for i in range(n_reads):
            at = start + step * i + dt.timedelta(seconds=rng.randint(0, 59))
            lines.append(f"{codes[i % len(codes)]},{at.strftime('%Y-%m-%dT%H:%M:%SZ')},BENCH-RD")
        lines.append(f"clock,{(now - dt.timedelta(minutes=7)).strftime('%Y-%m-%dT%H:%M:%SZ')}")
        return "\n".join(lines) + "\n"

    upload_rows = [
        (
            compound_id,
            None,
            codes[i % len(codes)],
            None,
            None,
            reader.pk,
            "reader",
            now,
            now,
            now,
            0,
            "[]",
            False,
            "",
            "",
        )
        for i in range(n_reads)
    ]
    copies = []
    for _ in range(3):
        with (
            connection.cursor() as cur,
            Stopwatch() as watch,
            cur.cursor.copy(f"COPY patrol_checkin ({COLUMNS}) FROM STDIN") as copy,
        ):
            for row in upload_rows:
                copy.write_row(row)
        copies.append(watch.seconds)
        with connection.cursor() as cur:
            cur.execute("DELETE FROM patrol_checkin WHERE reader_id = %s", [reader.pk])
    copy_limit = min(copies)
    report.say(f"limit: raw COPY of {n_reads:,} check-in rows: {copy_limit * 1000:.0f} ms")
    uploads = []
    for attempt in range(3):
        text = body(attempt)
        with Stopwatch() as watch:
            result = readers.ingest_upload(reader, text, content_type="text/csv", received_at=now)
        uploads.append(watch.seconds)
        assert not result.replayed and result.upload.rejected_count == 0, result.upload.errors[:3]
    best_upload = min(uploads)
    up = result.upload
    report.figures["reader upload"] = best_upload
    report.say(
        f"reader upload of {n_reads:,} reads ({up.accepted_count:,} stored, {up.duplicate_count:,} duplicates, "
        f"clock offset {up.clock_offset_seconds} s): {best_upload * 1000:.0f} ms "
        f"(runs {', '.join(f'{t * 1000:.0f}' for t in uploads)}) = {best_upload / copy_limit:.1f}x raw COPY "
        f"(target ≤ {UPLOAD_TARGET_S:.0f} s)"
    )
    with Stopwatch() as replay:
        again = readers.ingest_upload(reader, text, content_type="text/csv", received_at=now)
    assert again.replayed
    report.say(f"the same upload replayed: {replay.seconds * 1000:.1f} ms (recognised by content hash)")
    if best_upload > UPLOAD_TARGET_S:
        report.problems.append(f"reader upload took {best_upload:.2f} s > {UPLOAD_TARGET_S} s")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.patrol", description=__doc__)
    parser.add_argument("--compounds", type=int, default=1500, help="compounds in the city (default 1,500)")
    parser.add_argument("--days", type=int, default=30, help="days of runs (default 30)")
    parser.add_argument("--reads", type=int, default=10_000, help="reads in the reader upload (default 10,000)")
    parser.add_argument("--database", default=DB_NAME)
    parser.add_argument("--reuse", action="store_true", help="measure again on the data of an earlier run")
    args = parser.parse_args(argv)
    from . import __main__ as bench_main

    print(f"# patrol bench — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores")
    try:
        dsn = f"{SERVER}/{args.database}" if args.reuse else bench_main.recreate_database(SERVER, args.database)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unavailable at {SERVER}: {exc}", file=sys.stderr)
        return 2
    bench_main.setup_django(dsn)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    report = run(dsn, args.compounds, args.days, args.reads, reused=reuse() if args.reuse else None)
    for problem in report.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
