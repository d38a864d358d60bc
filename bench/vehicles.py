"""`python -m bench.vehicles [--compounds C] [--passages N] [--days D] [--events E] [--requests R]`:
passage ingest and barrier decisions on PostgreSQL (issue 8 acceptance: ingest ≥ 5,000 passages/s;
barrier decision p99 ≤ 20 ms).

Builds its own database `anfang_bench_vehicles` through the project's migrations: a city of C
compounds (bench/city.py: parts and 50 devices each, ANPR cameras at the vehicle entrances), the
compounds' lists at a realistic size (400 resident cars, 30 visitor passes and 20 watch entries —
a few of them patterns — per compound), and N passages already stored over D day partitions
(generated in the server as bench/plate_search.py does, indexes rebuilt after the load), so the
indexes the ingest maintains are of a realistic size.

Timed:
1. ingest — E ANPR events (plates: residents, visitors, watched, unknown and some garbage; two
   pictures each) written by `events.writer.write` in batches of 1,000, the ANPR hook turning them
   into passages in the same transaction (list matches, decisions, stays, visitor uses, watch-list
   alarms, the uplink outbox). Compared with (a) the same number of events through the writer with
   the hook removed, and (b) a raw COPY of the same passage rows into `vehicles_passage` — the limit.
2. barrier — R decisions through the API (`POST /api/vehicles/barrier/decide`, device token, Django
   test client: auth, parsing, the rule, the JSON answer) and through `barrier.decide_at` alone,
   compared with the raw indexed SELECTs of the same lookups (resident, visitor) through psycopg."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from typing import Any

import psycopg

from .measure import Report, Stopwatch, Timing, percentile, repeat

SERVER = os.environ.get("ANFANG_BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "anfang_bench_vehicles"
TARGET_INGEST_PER_S = 5000.0
TARGET_P99_MS = 20.0
RESIDENTS, VISITORS, WATCHED = 400, 30, 20
BATCH = 1000
SEED = 11


def p99(t: Timing) -> float:
    return percentile(t.samples_ms, 99)


def build_lists(compound_ids: list[int], rng: random.Random) -> dict[int, dict[str, list[str]]]:
    """Lists of every compound, bulk-inserted; returns the plates by compound and kind."""
    from django.utils import timezone

    from anfang.vehicles.models import ResidentVehicle, VisitorPass, WatchEntry
    from anfang.vehicles.plates import read_plate

    from .plate_search import random_plate

    now = timezone.now()
    today = timezone.localdate()
    plates: dict[int, dict[str, list[str]]] = {}
    residents, visitors, watched = [], [], []
    used: set[tuple[int, str]] = set()
    for cid in compound_ids:
        mine: dict[str, list[str]] = {"resident": [], "visitor": [], "watch": []}
        for kind, n in (("resident", RESIDENTS), ("visitor", VISITORS), ("watch", WATCHED)):
            while len(mine[kind]) < n:
                plate = read_plate(random_plate(rng)).plate
                if (cid, plate) not in used:
                    used.add((cid, plate))
                    mine[kind].append(plate)
        plates[cid] = mine
        residents += [
            ResidentVehicle(compound_id=cid, plate=p, owner_name="车主", valid_from=today - dt.timedelta(days=300))
            for p in mine["resident"]
        ]
        visitors += [
            VisitorPass(
                compound_id=cid,
                plate=p,
                valid_from=now - dt.timedelta(hours=2),
                valid_to=now + dt.timedelta(hours=6),
                kind="multiple" if i % 3 else "single",
            )
            for i, p in enumerate(mine["visitor"])
        ]
        watched += [WatchEntry(compound_id=cid, plate=p, reason="协查") for p in mine["watch"][:-2]]
        watched += [WatchEntry(compound_id=cid, plate=p[:3] + "*" + p[-2:], reason="协查") for p in mine["watch"][-2:]]
    for model, rows in ((ResidentVehicle, residents), (VisitorPass, visitors), (WatchEntry, watched)):
        model.objects.bulk_create(rows, batch_size=5000)
    return plates


def pick_plate(rng: random.Random, mine: dict[str, list[str]]) -> str:
    from .plate_search import random_plate

    r = rng.random()
    if r < 0.60:
        return rng.choice(mine["resident"])
    if r < 0.70:
        return rng.choice(mine["visitor"])
    if r < 0.701:
        return rng.choice(mine["watch"][:-2])
    if r < 0.72:
        return rng.choice(["", "无车牌", "辽H12", "#####"])
    return random_plate(rng)


def make_events(cameras: list[Any], plates: dict[int, dict[str, list[str]]], n: int, rng: random.Random, tag: str):
    from django.utils import timezone

    from anfang.events.choices import EventKind, Source
    from anfang.events.ingest import Incoming, normalise

    now = timezone.now()
    events = []
    for i in range(n):
        cam = cameras[i % len(cameras)]
        media = [
            {"path": f"events/ab/{i:08x}p.jpg", "type": "image/jpeg", "size": 18000, "sha256": "a" * 64,
             "name": "licensePlatePicture.jpg", "role": "licensePlatePicture"},
            {"path": f"events/ab/{i:08x}s.jpg", "type": "image/jpeg", "size": 180000, "sha256": "b" * 64,
             "name": "detectionPicture.jpg", "role": "detectionPicture"},
        ]  # fmt: skip
        event = Incoming(
            device_id=cam.pk,
            compound_id=cam.compound_id,
            kind=EventKind.ANPR_PASSAGE,
            occurred_at=now - dt.timedelta(seconds=rng.randint(1, 5)),
            source=Source.ISAPI,
            external_id=f"{tag}-{i}",
            payload={
                "plate": pick_plate(rng, plates[cam.compound_id]),
                "plate_color": "blue",
                "direction": rng.choice(["forward", "reverse"]),
                "confidence": str(rng.choice([96, 95, 92, 88, 61])),
                "lane": "1",
            },
            media=media,
        )
        events.append(normalise(event, now))
    return events


def write_all(events: list[Any]) -> float:
    from anfang.events import writer

    with Stopwatch() as sw:
        for first in range(0, len(events), BATCH):
            writer.write(events[first : first + BATCH])
    return sw.seconds


def run(dsn: str, args: argparse.Namespace) -> Report:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from anfang.devices import services as device_services
    from anfang.devices.models import Device
    from anfang.events import writer
    from anfang.vehicles import barrier
    from anfang.vehicles.models import PASSAGES, Passage
    from anfang.vehicles.passages import on_stored

    from . import city
    from .plate_search import drop_indexes, load, rebuild_indexes

    report = Report()
    rng = random.Random(SEED)
    with Stopwatch() as sw:
        call_command("migrate", verbosity=0)
    report.say(f"database {args.database} migrated in {sw.seconds:.1f} s")
    with Stopwatch() as sw:
        stats = city.generate_city(args.compounds)
    report.say(f"city of {args.compounds} compounds: {stats.total_rows:,} rows in {sw.seconds:.0f} s")
    cameras = list(Device.objects.filter(device_type="anpr_camera").order_by("pk"))
    compound_ids = sorted({d.compound_id for d in cameras})
    with Stopwatch() as sw:
        plates = build_lists(compound_ids, rng)
    report.say(
        f"lists: {RESIDENTS} residents, {VISITORS} visitor passes, {WATCHED} watch entries per compound "
        f"({len(compound_ids) * (RESIDENTS + VISITORS + WATCHED):,} rows) in {sw.seconds:.0f} s"
    )
    today = dt.datetime.now(dt.UTC).date()
    for back in range(args.days + 1, -2, -1):
        PASSAGES.create_partition(today - dt.timedelta(days=back))
    connection.close()
    raw = psycopg.connect(dsn)
    if args.passages:
        statements = drop_indexes(raw)
        load(raw, report, n=args.passages, days=args.days, compound_ids=compound_ids, seed=SEED)
        rebuild_indexes(raw, report, statements)
    report.say(f"{Passage.objects.count():,} passages stored before the run, {len(PASSAGES.existing())} partitions")

    # ---- 1. ingest
    report.say(f"\n## ingest: {args.events:,} ANPR events in batches of {BATCH:,} ({len(cameras):,} cameras)")
    writer.write(make_events(cameras, plates, BATCH, rng, "warm"))  # caches, connection, staging table
    events = make_events(cameras, plates, args.events, rng, "run")
    before = Passage.objects.order_by("-id").values_list("id", flat=True).first() or 0
    seconds = write_all(events)
    made = Passage.objects.filter(id__gt=before).count()
    rate = made / seconds
    report.say(f"events → passages (writer + hook): {made:,} passages in {seconds:.2f} s = {rate:,.0f}/s")
    report.figures["ingest passages/s"] = rate
    if made != args.events:
        report.problems.append(f"{args.events} events gave {made} passages")

    # The share of the police outbox (uplink's enqueue_many) in the hook's cost.
    from anfang.vehicles import passages as passage_hook

    enqueue = passage_hook._enqueue_uplink
    passage_hook._enqueue_uplink = lambda batch: None  # type: ignore[assignment]
    try:
        no_outbox = make_events(cameras, plates, args.events, rng, "no-outbox")
        no_outbox_rate = args.events / write_all(no_outbox)
    finally:
        passage_hook._enqueue_uplink = enqueue  # type: ignore[assignment]
    report.say(f"the same without the police outbox (uplink.enqueue_many): {no_outbox_rate:,.0f}/s")
    report.figures["ingest without outbox passages/s"] = no_outbox_rate

    writer.STORED_HOOKS.remove(on_stored)
    try:
        bare = make_events(cameras, plates, args.events, rng, "bare")
        bare_seconds = write_all(bare)
    finally:
        writer.STORED_HOOKS.append(on_stored)
    bare_rate = args.events / bare_seconds
    report.say(
        f"the same events without the hook (events only): {bare_rate:,.0f}/s — "
        f"with passages at {rate / bare_rate:.0%} of the event-only rate"
    )

    columns = [f.column for f in Passage._meta.concrete_fields if f.column != "id"]
    cols = ", ".join(columns)
    # As text: COPY parses every column (json included) exactly as from a file.
    as_text = ", ".join(f"{c}::text" for c in columns)
    rows = raw.execute(f"SELECT {as_text} FROM vehicles_passage WHERE id > %s", [before]).fetchall()
    with Stopwatch() as sw:
        with raw.cursor() as cur, cur.copy(f"COPY vehicles_passage ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    copy_rate = len(rows) / sw.seconds
    report.say(
        f"raw COPY of the same {len(rows):,} passage rows: {copy_rate:,.0f}/s — ingest at {rate / copy_rate:.0%} of it"
    )
    report.figures["raw COPY passages/s"] = copy_rate
    if rate < TARGET_INGEST_PER_S:
        report.problems.append(f"ingest {rate:,.0f}/s < {TARGET_INGEST_PER_S:,.0f}/s")

    # ---- 2. barrier decisions
    n = args.requests
    report.say(f"\n## barrier decision: {n:,} requests (plates: 60 % resident, 10 % visitor, rest unknown/garbage)")
    device_services._credential_cache.clear()
    asks = []
    for _ in range(n):
        cam = cameras[rng.randrange(len(cameras))]
        asks.append((cam, pick_plate(rng, plates[cam.compound_id])))
    tokens = {cam.pk: device_services.issue_device_token(None, cam) for cam in {c for c, _ in asks}}
    client = Client()

    def api(i: int) -> object:
        cam, plate = asks[i % n]
        response = client.post(
            "/api/vehicles/barrier/decide",
            {"plate": plate},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tokens[cam.pk]}",
        )
        assert response.status_code == 200, response.content
        return response

    def direct(i: int) -> object:
        cam, plate = asks[i % n]
        return barrier.decide_at(cam.compound_id, plate)

    resident_sql = (
        "SELECT id, parking_lot_id FROM vehicles_residentvehicle WHERE compound_id = %s AND plate = %s "
        "AND valid_from <= %s AND (valid_to IS NULL OR valid_to >= %s)"
    )
    visitor_sql = (
        "SELECT id, kind, uses FROM vehicles_visitorpass WHERE compound_id = %s AND plate = %s "
        "AND valid_from <= %s AND valid_to >= %s ORDER BY valid_to"
    )

    def raw_select(i: int) -> object:
        cam, plate = asks[i % n]
        now = dt.datetime.now(dt.UTC)
        with raw.cursor() as cur:
            cur.execute(resident_sql, [cam.compound_id, plate, now.date(), now.date()])
            cur.fetchall()
            cur.execute(visitor_sql, [cam.compound_id, plate, now, now])
            return cur.fetchall()

    warmup = max(20, n // 10)
    timed_api = repeat(api, n, warmup)
    timed_direct = repeat(direct, n, warmup)
    timed_raw = repeat(raw_select, n, warmup)
    for label, t in (("API end to end", timed_api), ("barrier.decide_at", timed_direct)):
        report.say(
            f"{label}: p50 {t.p50:.2f} ms, p95 {t.p95:.2f} ms, p99 {p99(t):.2f} ms — "
            f"{p99(t) / p99(timed_raw):.1f}× the raw SELECTs' p99"
        )
    report.say(f"raw indexed SELECTs (resident + visitor): p50 {timed_raw.p50:.2f} ms, p99 {p99(timed_raw):.2f} ms")
    report.figures["barrier API p99 ms"] = p99(timed_api)
    report.figures["barrier raw p99 ms"] = p99(timed_raw)
    if p99(timed_api) > TARGET_P99_MS:
        report.problems.append(f"barrier API p99 {p99(timed_api):.1f} ms > {TARGET_P99_MS} ms")
    raw.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vehicles", description=__doc__)
    parser.add_argument("--compounds", type=int, default=200)
    parser.add_argument("--passages", type=int, default=1_000_000, help="passages stored before the run")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events", type=int, default=50_000, help="ANPR events ingested in the timed run")
    parser.add_argument("--requests", type=int, default=2000, help="timed barrier decisions")
    parser.add_argument("--database", default=DB_NAME)
    args = parser.parse_args(argv)

    from .__main__ import recreate_database, setup_django

    print(f"# vehicles bench — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores")
    try:
        dsn = recreate_database(SERVER, args.database)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unavailable at {SERVER}: {exc}", file=sys.stderr)
        return 2
    setup_django(dsn)
    report = run(dsn, args)
    for problem in report.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
