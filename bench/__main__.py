"""`python -m bench [--quick] [--profile N] [--only ingest|console]`: build the synthetic city in a
fresh PostgreSQL database `anfang_bench`, then measure the compliance assessment of the city, the
registry reads, event ingestion (bench/ingest.py) and the live console (bench/console.py). Every
figure is printed with its ratio to a limit measured in the same run (raw COPY, raw SQL, a bare
endpoint, a raw NOTIFY → LISTEN round trip); `--profile` adds cProfile
output (N requests per endpoint, one assessment, the ingest workers and the ISAPI view).
`--only ingest` / `--only console` runs that suite alone on a small city (60 compounds);
`--database NAME` builds it in another database, so a second run does not drop the first's.
The full run then runs the domain suites (patrol, vehicles, plate_search, retention, audit), each
in its own database; `--only <suite>` runs one of them, `--skip-domains` leaves them out."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

import psycopg

SERVER = os.environ.get("ANFANG_BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "anfang_bench"


def recreate_database(server: str, name: str) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def setup_django(dsn: str) -> None:
    """Point the app at the bench database before Django reads its settings; production-like
    (DEBUG off, so no per-query logging) and quiet."""
    os.environ["ANFANG_DATABASE_URL"] = dsn
    os.environ["DJANGO_SETTINGS_MODULE"] = "anfang.settings"
    os.environ["ANFANG_DEBUG"] = "0"
    os.environ.setdefault("ANFANG_SECRET_KEY", "bench-only-" + os.urandom(16).hex())
    os.environ.setdefault("ANFANG_LOG_LEVEL", "ERROR")
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: static files not collected
    django.setup()


# Suites of the domain apps (issues 7–9): each builds its own database at full size and is run as
# its own process (`python -m bench.<suite>`, which takes the suite's own options).
DOMAIN_SUITES = ("patrol", "vehicles", "plate_search", "retention", "audit")


def run_domain_suites(names: tuple[str, ...] | list[str]) -> bool:
    ok = True
    for name in names:
        print(f"\n## {name} (python -m bench.{name})", flush=True)
        ok = subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode == 0 and ok
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 compounds, 30 requests")
    parser.add_argument("--compounds", type=int, help="override the number of compounds (default 1500)")
    parser.add_argument("--requests", type=int, help="timed requests per endpoint (default 200)")
    parser.add_argument("--assessments", type=int, help="timed city assessments of each kind (default 5)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also cProfile N requests per endpoint")
    parser.add_argument(
        "--only",
        choices=["ingest", "console", *DOMAIN_SUITES],
        help="run only this suite (ingest, console: on a 60-compound city; the others in their own database)",
    )
    parser.add_argument("--skip-domains", action="store_true", help=f"leave out {', '.join(DOMAIN_SUITES)}")
    parser.add_argument("--database", default=DB_NAME, help=f"bench database, recreated (default {DB_NAME})")
    parser.add_argument("--skip-ingest", action="store_true", help="leave out the ingest benchmarks")
    parser.add_argument("--skip-console", action="store_true", help="leave out the console benchmarks")
    parser.add_argument("--mqtt-rate", type=float, help="ingest: offered MQTT events/s (default 20000)")
    parser.add_argument("--mqtt-seconds", type=float, help="ingest: MQTT flood window (default 60)")
    parser.add_argument("--background-rate", type=float, help="console: offered background events/s (default 5000)")
    args = parser.parse_args(argv)
    if args.only in DOMAIN_SUITES:
        return 0 if run_domain_suites([args.only]) else 1
    n_compounds = args.compounds or (60 if args.quick or args.only else 1500)
    n_requests = args.requests or (30 if args.quick else 200)
    warmup = 5 if args.quick else 20
    n_assess = args.assessments or (2 if args.quick else 5)

    print(f"# Anfang benchmarks — {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, {os.cpu_count()} cores")
    try:
        dsn = recreate_database(SERVER, args.database)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unavailable at {SERVER}: {exc}", file=sys.stderr)
        return 2
    setup_django(dsn)

    from django.core.management import call_command
    from django.db import connection

    from . import city, compliance, console, ingest, registry
    from .measure import Stopwatch

    def run_ingest() -> bool:
        config = ingest.Config.make(
            args.quick, profile=bool(args.profile), mqtt_rate=args.mqtt_rate, mqtt_seconds=args.mqtt_seconds
        )
        report = ingest.run(dsn, config)
        if report.profiles:
            print("\n## ingest profiles\n" + "\n".join(report.profiles))
        for problem in report.problems:
            print(f"PROBLEM: {problem}", file=sys.stderr)
        return not report.problems

    def run_console() -> bool:
        config = console.Config.make(args.quick, profile=bool(args.profile), background_rate=args.background_rate)
        report = console.run(dsn, config)
        if report.profiles:
            print("\n## console profiles\n" + "\n".join(report.profiles))
        for problem in report.problems:
            print(f"PROBLEM: {problem}", file=sys.stderr)
        return not report.problems

    with Stopwatch() as migrate:
        call_command("migrate", verbosity=0)
    print(f"database {args.database} recreated and migrated in {migrate.seconds:.1f} s")

    copy_seconds: dict[str, float] = {}

    def copy_baseline(devices: list) -> None:
        rows = city.copy_rows(devices)
        copy_seconds["copy"] = city.copy_devices(rows)
        city.truncate_devices()

    if args.only:
        city.generate_city(n_compounds)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        return 0 if (run_ingest() if args.only == "ingest" else run_console()) else 1

    stats = city.generate_city(n_compounds, before_device_insert=copy_baseline)
    with Stopwatch() as analyze, connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    devices = stats.rows["devices_device"]
    insert_s = stats.seconds["devices (bulk_create)"]
    build_s = stats.seconds["devices (build objects)"]
    copy_s = copy_seconds["copy"]
    print(f"\n## city generation: {n_compounds:,} compounds, {stats.total_rows:,} rows in {stats.total_seconds:.1f} s")
    for phase, seconds in stats.seconds.items():
        print(f"  {phase:<26} {seconds:6.2f} s")
    for table, rows in sorted(stats.rows.items()):
        print(f"  {table:<36} {rows:>8,} rows")
    print(f"  VACUUM ANALYZE {analyze.seconds:.1f} s")
    print(
        f"city generation {stats.total_rows / stats.total_seconds:,.0f} rows/s overall; "
        f"devices: bulk_create {devices / insert_s:,.0f} rows/s ({insert_s:.2f} s), "
        f"with object building {devices / (insert_s + build_s):,.0f} rows/s; "
        f"raw COPY of the same {devices:,} rows {devices / copy_s:,.0f} rows/s ({copy_s:.2f} s) "
        f"= bulk_create {insert_s / copy_s:.1f}x slower than COPY ({(insert_s + build_s) / copy_s:.1f}x with building)"
    )

    print(f"\n## compliance assessment of the city ({n_assess} timed runs of each kind after 1 warm-up)")
    report = compliance.run_bench(dsn, n_assess, profile=bool(args.profile))
    print("\n".join(report.lines()))
    if report.profile:
        print("\n## profile: one city assessment, every snapshot new\n" + report.profile)

    print(f"\n## registry reads ({n_requests} timed requests each after {warmup} warm-up)")
    results, profiles = registry.run(dsn, n_requests, warmup, profile_requests=args.profile)
    for result in results:
        print(result.line())
    if profiles:
        print("\n## profiles\n" + profiles)
    ingest_ok = args.skip_ingest or run_ingest()
    console_ok = args.skip_console or run_console()
    # The smoke run leaves the domain suites out: each builds a city-sized database of its own.
    domains_ok = args.quick or args.skip_domains or run_domain_suites(DOMAIN_SUITES)
    return 1 if any(r.problem for r in results) or not (ingest_ok and console_ok and domains_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
