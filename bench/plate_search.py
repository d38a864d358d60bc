"""`python -m bench.plate_search [--passages N] [--days D] [--compounds C] [--requests R]`: plate
search over 90 days of passages on PostgreSQL (issue 8 acceptance: partial / fuzzy search p95 ≤ 20 ms
with 10 million passages).

Builds its own database `anfang_bench_plate_search` through the project's migrations (vehicles-core's
day-partitioned `vehicles_passage` plus the search indexes), a city of 1,500 compounds
(bench/city.py: organisations and compounds only), one partition per day, and N passages written
with COPY (indexes dropped during the load and rebuilt after, as a bulk load would). Plates follow a
realistic mix: mostly the home province (辽, office letters H/B/A…), GA 36-2018 serials with a
letter here and there, ~8 % new-energy plates, a few special series; resident vehicles come back
day after day, transient ones rarely; ~2 % of reads carry a confusable misread (8↔B, 0↔D …), some
are unreadable or partial.

Timed, as a city-wide police officer (all 1,500 compounds in scope, the widest IN list) and as a
station officer (~50 compounds): `vehicles.search.search()` end to end (scope, count capped at
1,000, first page of 20, names, picture tokens, the audit entry) for exact / prefix / contains /
wildcard / fuzzy terms drawn from the data. Each figure is printed with its ratio to the raw SQL of
the same count and page queries run through psycopg without the ORM, and the exact search also to
an index-only probe of (plate, received_at)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from .measure import Report, Stopwatch, Timing, repeat

SERVER = os.environ.get("ANFANG_BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "anfang_bench_plate_search"
TARGET_P95_MS = 20.0
PURPOSE = "基准测试：案件编号 BENCH-001"
SEED = 8

PROVINCES_OTHER = "京津沪渝冀豫云黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
SERIAL_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"
CONFUSABLE = {"8": "B", "B": "8", "0": "D", "D": "0", "Q": "0", "2": "Z", "Z": "2", "5": "S", "S": "5", "6": "G"}


# ---------------------------------------------------------------- plates


def _office(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.8:
        return "辽", rng.choices("HBAFKCDEGJLMNP", weights=[50, 20, 12, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1])[0]
    return rng.choice(PROVINCES_OTHER), rng.choice(SERIAL_LETTERS)


def _serial(rng: random.Random) -> str:
    chars = [rng.choice(DIGITS) for _ in range(5)]
    r = rng.random()
    if r < 0.25:
        chars[rng.randrange(5)] = rng.choice(SERIAL_LETTERS)
    elif r < 0.30:
        for i in rng.sample(range(5), 2):
            chars[i] = rng.choice(SERIAL_LETTERS)
    return "".join(chars)


def random_plate(rng: random.Random) -> str:
    province, office = _office(rng)
    r = rng.random()
    if r < 0.07:  # small new-energy
        return f"{province}{office}{rng.choice('DF')}{rng.choice(DIGITS + SERIAL_LETTERS)}{rng.randrange(10000):04d}"
    if r < 0.08:  # large new-energy
        return f"{province}{office}{rng.randrange(100000):05d}{rng.choice('DF')}"
    if r < 0.085:
        return f"{province}{office}{rng.randrange(10000):04d}警"
    if r < 0.088:
        return f"{province}{office}{rng.randrange(10000):04d}学"
    if r < 0.093:
        return f"{province}{office}{rng.randrange(10000):04d}挂"
    return f"{province}{office}{_serial(rng)}"


def misread(plate: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(plate) if i >= 1 and ch in CONFUSABLE]
    if not spots:
        return plate
    i = rng.choice(spots)
    return plate[:i] + CONFUSABLE[plate[i]] + plate[i + 1 :]


@dataclass
class Vehicle:
    plate: str
    home: int | None  # compound id of a resident vehicle, None for a transient one


def vehicles(rng: random.Random, compound_ids: list[int], residents_per_compound: int, transients: int) -> list:
    seen: set[str] = set()
    out: list[Vehicle] = []

    def fresh() -> str:
        while True:
            plate = random_plate(rng)
            if plate not in seen:
                seen.add(plate)
                return plate

    for cid in compound_ids:
        out.extend(Vehicle(fresh(), cid) for _ in range(residents_per_compound))
    out.extend(Vehicle(fresh(), None) for _ in range(transients))
    return out


# ---------------------------------------------------------------- loading


def _columns() -> list[Any]:
    from anfang.vehicles.models import Passage

    return [f for f in Passage._meta.concrete_fields if f.column != "id"]


def load_reads(conn: psycopg.Connection, fleet: list[Vehicle], rng: random.Random) -> tuple[int, int]:
    """COPY every vehicle's reads into a helper table: variant 0 as printed, 1 a confusable misread,
    2 a partial read (last character lost) — each through `read_plate`, as the ingest stores them."""
    from anfang.vehicles.plates import read_plate

    conn.execute(
        "CREATE UNLOGGED TABLE bench_read (vid int, variant int, home int, plate text, plate_raw text, "
        "plate_valid bool, plate_series text, plate_colour text, plate_skeleton text, PRIMARY KEY (vid, variant))"
    )
    with conn.cursor() as cur, cur.copy("COPY bench_read FROM STDIN") as copy:
        for vid, v in enumerate(fleet, start=1):
            for variant, raw in enumerate((v.plate, misread(v.plate, rng), v.plate[:-1])):
                r = read_plate(raw, "blue")
                copy.write_row((vid, variant, v.home, r.plate, raw, r.valid, r.series, r.colour, r.skeleton))
    conn.commit()
    residents = sum(1 for v in fleet if v.home is not None)
    return residents, len(fleet) - residents


# Per passage: a vehicle (75 % residents at home, 25 % transients anywhere), a read variant (2 %
# misread, 0.5 % partial, 0.5 % unreadable), times in order through the span, two picture refs.
INSERT = """
INSERT INTO vehicles_passage ({columns})
SELECT {values}
FROM (
    SELECT g, %(start)s::timestamptz + (g - 1) * %(step)s::interval + random() * %(step)s::interval AS at,
           CASE WHEN random() < 0.75 THEN 1 + floor(random() * %(residents)s)::int
                ELSE %(residents)s + 1 + floor(random() * %(transients)s)::int END AS vid,
           random() AS r, md5(g::text) AS h, 55 + floor(random() * 45)::int AS confidence
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
) s
JOIN bench_read v ON v.vid = s.vid AND v.variant = CASE WHEN s.r < 0.02 THEN 1 WHEN s.r < 0.025 THEN 2 ELSE 0 END
"""

EXPRESSIONS = {
    "compound_id": "coalesce(v.home, (%(compounds)s::int[])[1 + floor(random() * %(n_compounds)s)::int])",
    "captured_at": "s.at - interval '1 second' * floor(random() * 3)",
    "received_at": "s.at",
    "plate": "CASE WHEN s.r >= 0.025 AND s.r < 0.03 THEN '' ELSE v.plate END",
    "plate_raw": "CASE WHEN s.r >= 0.025 AND s.r < 0.03 THEN '无车牌' ELSE v.plate_raw END",
    "plate_valid": "CASE WHEN s.r >= 0.025 AND s.r < 0.03 THEN false ELSE v.plate_valid END",
    "plate_series": "CASE WHEN s.r >= 0.025 AND s.r < 0.03 THEN 'unknown' ELSE v.plate_series END",
    "plate_colour": "v.plate_colour",
    "plate_skeleton": "CASE WHEN s.r >= 0.025 AND s.r < 0.03 THEN '' ELSE v.plate_skeleton END",
    "confidence": "s.confidence",
    "needs_confirmation": "s.confidence < 80",
    "direction": "CASE WHEN s.g %% 2 = 0 THEN 'in' ELSE 'out' END",
    "lane": "(1 + s.g %% 2)::text",
    "decision": "CASE WHEN s.g %% 5 = 0 THEN 'ask' ELSE 'allow' END",
    "pictures": (
        "jsonb_build_array("
        "jsonb_build_object('path', 'events/' || substr(s.h, 1, 2) || '/' || substr(s.h, 3, 2) || '/' || s.h "
        "|| s.h || '.jpg', 'type', 'image/jpeg', 'size', 18000 + s.g %% 9000, 'role', 'plate'), "
        "jsonb_build_object('path', 'events/' || substr(s.h, 5, 2) || '/' || substr(s.h, 7, 2) || '/' || "
        "reverse(s.h) || s.h || '.jpg', 'type', 'image/jpeg', 'size', 160000 + s.g %% 90000, 'role', 'scene'))"
    ),
}


def load(conn: psycopg.Connection, report: Report, *, n: int, days: int, compound_ids: list[int], seed: int) -> dict:
    """n passages spread over `days` days ending now, generated in the server from the read table;
    returns the fleet's plates for the search terms."""
    rng = random.Random(seed)
    per_compound = max(5, n * 3 // 4 // (len(compound_ids) * 60))  # a resident car passes ~every other day
    fleet = vehicles(rng, compound_ids, per_compound, max(1000, n // 50))
    with Stopwatch() as sw:
        residents, transients = load_reads(conn, fleet, rng)
    report.say(
        f"COPY {3 * len(fleet):,} reads of {len(fleet):,} vehicles ({residents:,} residents) in {sw.seconds:.0f} s"
    )

    columns, values, params = [], [], {}
    for f in _columns():
        columns.append(f.column)
        if f.column in EXPRESSIONS:
            values.append(EXPRESSIONS[f.column])
        else:  # a column this bench does not know: the model's own default
            default = f.get_default()
            params[f"d_{f.column}"] = orjson_default(default)
            values.append(f"%(d_{f.column})s")
    sql = INSERT.format(columns=", ".join(columns), values=", ".join(values))
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=days)
    step = dt.timedelta(days=days) / n
    chunk = max(1, n // 20)
    with Stopwatch() as sw:
        for first in range(1, n + 1, chunk):
            last = min(n, first + chunk - 1)
            conn.execute(
                sql,
                {
                    **params,
                    "start": start,
                    "step": step,
                    "residents": residents,
                    "transients": transients,
                    "compounds": compound_ids,
                    "n_compounds": len(compound_ids),
                    "first": first,
                    "last": last,
                },
            )
            conn.commit()
            print(f"  … {last:,} passages ({last / sw_elapsed(sw):,.0f}/s)", flush=True)
    report.say(f"INSERT … SELECT {n:,} passages over {days} days in {sw.seconds:.0f} s ({n / sw.seconds:,.0f} rows/s)")
    return {
        "residents": [v.plate for v in fleet if v.home is not None],
        "transients": [v.plate for v in fleet if v.home is None],
    }


def sw_elapsed(sw: Stopwatch) -> float:
    return max(time.perf_counter() - sw.started, 0.001)


def orjson_default(value: Any) -> Any:
    """A Python default as a query parameter (JSON defaults as text for a jsonb column)."""
    if isinstance(value, list | dict):
        import orjson

        return orjson.dumps(value).decode()
    return value


def drop_indexes(conn: psycopg.Connection) -> list[str]:
    """The parent's secondary indexes (definitions kept), dropped for the bulk load."""
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'vehicles_passage' AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = 'vehicles_passage'::regclass)"
    ).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    conn.commit()
    # A partitioned index reads back as "ON ONLY parent" (not recursing): rebuild it on every partition.
    return [sql.replace(" ON ONLY ", " ON ") for _, sql in rows]


def rebuild_indexes(conn: psycopg.Connection, report: Report, statements: list[str]) -> None:
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    for sql in statements:
        with Stopwatch() as sw:
            conn.execute(sql)
            conn.commit()
        report.say(f"  {sql.split(' ON ')[0].replace('CREATE INDEX ', '')}: {sw.seconds:.0f} s")
    conn.autocommit = True
    with Stopwatch() as sw:
        conn.execute("VACUUM ANALYZE vehicles_passage")
    conn.autocommit = False
    report.say(f"  VACUUM ANALYZE {sw.seconds:.0f} s")


# ---------------------------------------------------------------- queries


def terms(rng: random.Random, pool: dict, n: int) -> dict[str, list[str]]:
    """Search terms as officers type them, drawn from plates in the data."""
    plates = [*rng.sample(pool["residents"], n), *rng.sample(pool["transients"], n)]
    rng.shuffle(plates)
    out: dict[str, list[str]] = {"exact": [], "prefix": [], "contains": [], "wildcard": [], "fuzzy": []}
    for p in plates[:n]:
        out["exact"].append(p)
        out["prefix"].append(p[:5])  # 辽H12…: province, office and three serial characters
        i = rng.randrange(2, len(p) - 3)
        out["contains"].append(p[i : i + 4])  # four characters remembered from the middle
        j = rng.randrange(3, len(p) - 1)
        out["wildcard"].append(p[:j] + "?" + p[j + 1 : -1] + "*")  # one unsure character, the end unknown
        out["fuzzy"].append(misread(misread(p, rng), rng))  # typed as (mis)read: up to two confusions
    return out


@dataclass
class Line:
    label: str
    orm: Timing
    raw: Timing
    probe: Timing | None = None
    rows: float = 0.0

    def text(self) -> str:
        ok = "OK" if self.orm.p95 <= TARGET_P95_MS else f"OVER the {TARGET_P95_MS:.0f} ms target"
        extra = f"; index-only probe {self.probe.p95:.2f} ms" if self.probe else ""
        return (
            f"{self.label:<34} search() {self.orm}  |  raw SQL {self.raw.p95:.2f} ms p95 "
            f"(= {self.orm.p95 / max(self.raw.p95, 0.001):.1f}x){extra}  |  avg {self.rows:.0f} rows counted  [{ok}]"
        )


def build(dsn: str, args: argparse.Namespace, report: Report) -> dict:
    """Migrate, build the city and its partitions, load the passages, rebuild the indexes, create
    the two officers. Returns the plate pool."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from anfang.core.choices import Role
    from anfang.core.models import RoleGrant
    from anfang.vehicles.models import PASSAGES

    from . import city

    with Stopwatch() as sw:
        call_command("migrate", verbosity=0)
    report.say(f"database {args.database} migrated in {sw.seconds:.1f} s")
    stats = city.CityStats(args.compounds)
    orgs = city.build_orgs(stats, args.compounds)
    compounds = city.build_compounds(stats, args.compounds, orgs)
    compound_ids = [c.pk for c in compounds]
    today = dt.datetime.now(dt.UTC).date()
    for back in range(args.days + 1, -2, -1):
        PASSAGES.create_partition(today - dt.timedelta(days=back))
    connection.close()
    report.say(f"{len(compound_ids):,} compounds, {len(PASSAGES.existing())} day partitions")

    with psycopg.connect(dsn) as raw_conn:
        statements = drop_indexes(raw_conn)
        pool = load(raw_conn, report, n=args.passages, days=args.days, compound_ids=compound_ids, seed=SEED)
        report.say("rebuilding indexes:")
        rebuild_indexes(raw_conn, report, statements)

    User = get_user_model()
    city_officer, _ = User.objects.get_or_create(username="bench-city")
    RoleGrant.objects.get_or_create(user=city_officer, role=Role.POLICE_CITY, organisation=orgs["city"][0])
    station_officer, _ = User.objects.get_or_create(username="bench-station")
    RoleGrant.objects.get_or_create(
        user=station_officer, role=Role.POLICE_STATION, organisation=orgs["stations"][len(orgs["stations"]) // 2]
    )
    return pool


def reuse(dsn: str) -> dict:
    """The plate pool of a database built by an earlier run (`--reuse`), migrated to the code's state."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT plate_raw, home IS NOT NULL FROM bench_read WHERE variant = 0").fetchall()
    return {"residents": [p for p, r in rows if r], "transients": [p for p, r in rows if not r]}


def run(dsn: str, args: argparse.Namespace) -> Report:
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from anfang.vehicles import search as s

    report = Report()
    pool = reuse(dsn) if args.reuse else build(dsn, args, report)
    User = get_user_model()
    city_officer = User.objects.get(username="bench-city")
    station_officer = User.objects.get(username="bench-station")
    raw_conn = psycopg.connect(dsn)

    rng = random.Random(SEED + 1)
    n = args.requests
    by_mode = terms(rng, pool, n)
    until = dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=90)
    factory = RequestFactory()

    def orm_call(user: Any, mode: str, items: list[str]) -> tuple[Callable[[int], object], list[int]]:
        counted: list[int] = []

        def call(i: int) -> object:
            request = factory.get("/vehicles/search/")
            request.user = User.objects.get(pk=user.pk)  # a fresh user per request: grants read again
            result = s.search(request, s.PlateQuery(items[i % len(items)], mode, since, until), PURPOSE)
            counted.append(result.page.total)
            return result

        return call, counted

    def raw_call(user: Any, mode: str, items: list[str]) -> Callable[[int], object]:
        built = [s.build_queryset(user, s.PlateQuery(t, mode, since, until)) for t in items]
        sqls = []
        for b in built:
            page_sql, page_params = b.qs.order_by("-received_at", "-pk")[: s.PER_PAGE + 1].query.sql_with_params()
            count_sql, count_params = b.qs.order_by().values("pk")[: s.COUNT_CAP + 1].query.sql_with_params()
            sqls.append((f"SELECT count(*) FROM ({count_sql}) c", count_params, page_sql, page_params))

        def call(i: int) -> object:
            count_sql, count_params, page_sql, page_params = sqls[i % len(sqls)]
            with raw_conn.cursor() as cur:
                cur.execute(count_sql, count_params)
                cur.fetchall()
                cur.execute(page_sql, page_params)
                return cur.fetchall()

        return call

    def probe_call(items: list[str]) -> Callable[[int], object]:
        sql = (
            "SELECT received_at FROM vehicles_passage WHERE plate = %s AND received_at >= %s AND received_at < %s "
            "ORDER BY received_at DESC LIMIT 21"
        )

        def call(i: int) -> object:
            with raw_conn.cursor() as cur:
                cur.execute(sql, [items[i % len(items)], since, until])
                return cur.fetchall()

        return call

    warmup = max(5, n // 10)
    lines: list[Line] = []
    for who, user in (("city officer, 1,500 compounds", city_officer), ("station officer", station_officer)):
        report.say(f"\n## {who}: {n} searches per mode over 90 days (after {warmup} warm-up)")
        for mode in ("exact", "prefix", "contains", "wildcard", "fuzzy"):
            items = by_mode[mode]
            orm_fn, counted = orm_call(user, mode, items)
            orm = repeat(orm_fn, n, warmup)
            raw = repeat(raw_call(user, mode, items), n, warmup)
            probe = repeat(probe_call(items), n, warmup) if mode == "exact" else None
            line = Line(f"{mode} ({who.split(',')[0]})", orm, raw, probe, sum(counted[-n:]) / n)
            lines.append(line)
            report.say(line.text())
            report.figures[f"{who.split(',')[0]} {mode} p95 ms"] = orm.p95
            if orm.p95 > TARGET_P95_MS and mode in ("contains", "wildcard", "fuzzy", "prefix", "exact"):
                report.problems.append(f"{mode} ({who}) p95 {orm.p95:.1f} ms > {TARGET_P95_MS} ms")
    raw_conn.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plate_search", description=__doc__)
    parser.add_argument("--passages", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=95)
    parser.add_argument("--compounds", type=int, default=1500)
    parser.add_argument("--requests", type=int, default=200, help="timed searches per mode and user")
    parser.add_argument("--database", default=DB_NAME)
    parser.add_argument("--reuse", action="store_true", help="time the searches on the database of an earlier run")
    args = parser.parse_args(argv)

    from .__main__ import recreate_database, setup_django

    print(
        f"# plate search bench — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {args.passages:,} passages"
    )
    try:
        dsn = f"{SERVER}/{args.database}" if args.reuse else recreate_database(SERVER, args.database)
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
