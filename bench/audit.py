"""`python -m bench.audit [--requests N] [--prefill N] [--writers W]`: what the access audit adds to
an audited request on PostgreSQL (issue 9 acceptance: ≤ 1 ms per audited request, p95).

Builds its own database `anfang_bench_audit` through the project's migrations, an event with a
picture in a temporary media store and an audit chain of `--prefill` entries (written with one
INSERT … SELECT: the head is what an append reads). Then, the same GET of the event picture view
(`events.views.event_picture`, through Django's request handling without the network):
  - with the audit (the view as deployed: `@audited` → `record_request`),
  - without it (the same view function with the decorator peeled off),
  - `record()` alone (advisory lock, head lookup, hash, INSERT, commit),
  - the limit: one raw INSERT of the same row through psycopg in its own transaction (no lock, no
    head lookup, no hash).
The figure is the difference of the two request timings and `record()` alone, each with its ratio
to the raw INSERT — once durable (the default: the commit waits for the WAL flush) and once with
ANFANG_AUDIT_ASYNC_COMMIT=1 (the raw INSERT then also with synchronous_commit off). `--writers W` also times `record()` with W-1 other threads appending at the same
time (the advisory lock serialises appends)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from typing import Any

import psycopg

from .measure import Report, Timing, repeat

SERVER = os.environ.get("ANFANG_BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "anfang_bench_audit"
TARGET_MS = 1.0


def _setup(dsn: str, media_root: str) -> None:
    from . import __main__ as bench_main

    os.environ["ANFANG_MEDIA_ROOT"] = media_root
    bench_main.setup_django(dsn)


def _prefill(n: int) -> None:
    """n entries in one statement; their hashes are not a valid chain (only appends are timed)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO audit_auditentry (seq, at, actor_name, action, object_type, object_id, purpose,
                                          detail, prev_hash, hash)
            SELECT g, now() - make_interval(secs => %s - g), 'bench', 'view', 'events.picture', g::text,
                   '', '{}'::jsonb, md5(g::text) || md5(g::text), md5((g + 1)::text) || md5((g + 1)::text)
            FROM generate_series(1, %s) AS g
            """,
            [n, n],
        )
        cur.execute("VACUUM ANALYZE audit_auditentry")


def run(dsn: str, n: int, prefill: int, writers: int) -> Report:
    import io

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from django.utils import timezone
    from PIL import Image

    from anfang.audit.models import AuditEntry
    from anfang.audit.services import record
    from anfang.events import views
    from anfang.events.media import save_picture
    from anfang.events.models import Event

    report = Report()
    _prefill(prefill)
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "gray").save(buffer, "JPEG")
    user = get_user_model().objects.create_superuser("bench-admin", password="x")
    now = timezone.now()
    event = Event.objects.create(
        device_id=1,
        compound_id=1,
        kind="anpr_passage",
        occurred_at=now,
        received_at=now,
        source="api",
        media=[save_picture(buffer.getvalue(), name="plate.jpg")],
    )
    factory = RequestFactory()
    audited_view = views.event_picture
    # login_required(audited(view)): peel both wrappers off for the same view without the audit.
    plain_view = audited_view.__wrapped__.__wrapped__  # type: ignore[attr-defined]

    def call(view: Any) -> Any:
        def once(i: int) -> None:
            request = factory.get(f"/events/{event.pk}/pictures/0/", REMOTE_ADDR="10.1.2.3")
            request.user = user
            response = view(request, pk=event.pk, index=0)
            assert response.status_code == 200, response.status_code
            b"".join(response.streaming_content)
            response.close()

        return once

    warmup = max(20, n // 10)
    before = AuditEntry.objects.count()
    # Interleave the two kinds in rounds so drift in machine load hits both alike.
    with_audit: list[float] = []
    without: list[float] = []
    rounds = 10
    for _ in range(rounds):
        with_audit += repeat(call(audited_view), n // rounds, warmup // rounds).samples_ms
        without += repeat(call(plain_view), n // rounds, warmup // rounds).samples_ms
    t_with, t_without = Timing(with_audit), Timing(without)
    assert AuditEntry.objects.count() - before == len(with_audit) + warmup // rounds * rounds

    def append(i: int) -> None:
        record(user, "view", "events.picture", i, compound_id=1, detail={"index": 0})

    t_record = repeat(append, n, warmup)
    # The same with ANFANG_AUDIT_ASYNC_COMMIT: the commit does not wait for the WAL flush.
    settings.ANFANG_AUDIT_ASYNC_COMMIT = True
    t_record_async = repeat(append, n, warmup)
    with_a: list[float] = []
    without_a: list[float] = []
    for _ in range(rounds):
        with_a += repeat(call(audited_view), n // rounds, warmup // rounds).samples_ms
        without_a += repeat(call(plain_view), n // rounds, warmup // rounds).samples_ms
    t_with_a, t_without_a = Timing(with_a), Timing(without_a)
    settings.ANFANG_AUDIT_ASYNC_COMMIT = False

    raw_sql = (
        "INSERT INTO bench_audit_raw (seq, at, actor_id, actor_name, action, object_type, object_id, "
        "compound_id, purpose, detail, remote_addr, prev_hash, hash) "
        "VALUES (%s, now(), %s, 'bench-admin', 'view', 'events.picture', %s, 1, '', '{\"index\": 0}', "
        "'10.1.2.3', %s, %s)"
    )
    head = [AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0]
    with psycopg.connect(dsn, autocommit=False) as conn:
        # The same table shape and indexes, holding a copy of the chain: the INSERT does the same
        # index work without touching the chain under test.
        conn.execute("CREATE TABLE bench_audit_raw (LIKE audit_auditentry INCLUDING ALL)")
        conn.execute("INSERT INTO bench_audit_raw SELECT * FROM audit_auditentry")
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('bench_audit_raw', 'id'), (SELECT max(id) FROM bench_audit_raw))"
        )
        conn.commit()

        def raw(i: int) -> None:
            head[0] += 1
            with conn.cursor() as cur:
                cur.execute(raw_sql, [head[0], user.pk, str(i), "0" * 64, "f" * 64])
            conn.commit()

        t_raw = repeat(raw, n, warmup)
        conn.execute("SET synchronous_commit TO off")
        conn.commit()
        t_raw_async = repeat(raw, n, warmup)

    overhead_p50 = t_with.p50 - t_without.p50
    overhead_p95 = t_with.p95 - t_without.p95
    over_a = t_with_a.p95 - t_without_a.p95
    report.say(f"# audit bench — {time.strftime('%Y-%m-%d %H:%M')}, chain of {prefill:,} entries, {n} requests each")
    report.say("durable (default: each entry's commit waits for the WAL flush)")
    report.say(f"  picture view with audit      {t_with}")
    report.say(f"  picture view without audit   {t_without}")
    report.say(
        f"  audit overhead per request   p50 {overhead_p50:.2f} ms, p95 {overhead_p95:.2f} ms "
        f"(target ≤ {TARGET_MS:.1f} ms p95; = {overhead_p95 / t_raw.p95:.1f}x the raw INSERT p95)"
    )
    report.say(f"  record() alone               {t_record} = {t_record.p95 / t_raw.p95:.1f}x the raw INSERT p95")
    report.say(f"  limit: raw INSERT + COMMIT   {t_raw}")
    report.say("ANFANG_AUDIT_ASYNC_COMMIT=1 (commit does not wait for the flush; a DB crash may lose the last ~0.6 s)")
    report.say(f"  picture view with audit      {t_with_a}")
    report.say(f"  picture view without audit   {t_without_a}")
    report.say(
        f"  audit overhead per request   p50 {t_with_a.p50 - t_without_a.p50:.2f} ms, p95 {over_a:.2f} ms "
        f"(= {over_a / t_raw_async.p95:.1f}x the raw INSERT p95)"
    )
    report.say(
        f"  record() alone               {t_record_async} = {t_record_async.p95 / t_raw_async.p95:.1f}x the raw INSERT p95"
    )
    report.say(f"  limit: raw INSERT + COMMIT   {t_raw_async}")
    report.figures.update(
        {
            "audit_overhead_p95_ms": overhead_p95,
            "audit_record_p95_ms": t_record.p95,
            "audit_raw_insert_p95_ms": t_raw.p95,
            "audit_overhead_async_p95_ms": over_a,
            "audit_record_async_p95_ms": t_record_async.p95,
            "audit_raw_insert_async_p95_ms": t_raw_async.p95,
        }
    )
    if writers > 1:
        t_contended = _contended(user, n, writers)
        report.say(
            f"record() with {writers - 1} other writers (durable)  {t_contended} = "
            f"{t_contended.p95 / t_raw.p95:.1f}x the raw INSERT p95"
        )
        report.figures["audit_record_contended_p95_ms"] = t_contended.p95
    if min(max(overhead_p95, t_record.p95), max(over_a, t_record_async.p95)) > TARGET_MS:
        report.problems.append(
            f"audit adds more than {TARGET_MS} ms p95 in both commit modes (durable: overhead {overhead_p95:.2f}, "
            f"record {t_record.p95:.2f}; async: overhead {over_a:.2f}, record {t_record_async.p95:.2f})"
        )

    from anfang.audit.services import verify

    result = verify(start=(prefill, AuditEntry.objects.get(seq=prefill).hash))
    report.say(f"chain after the run: {result.checked:,} appended entries verified, {len(result.breaks)} breaks")
    if not result.intact:
        report.problems.append(f"chain broken after the run: {result.breaks[:3]}")
    return report


def _contended(user: Any, n: int, writers: int) -> Timing:
    from django.db import connections

    from anfang.audit.services import record

    stop = threading.Event()

    def background() -> None:
        try:
            while not stop.is_set():
                record(user, "view", "events.picture", "bg")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=background, daemon=True) for _ in range(writers - 1)]
    for thread in threads:
        thread.start()
    try:
        return repeat(lambda i: record(user, "view", "events.picture", i), n, 20)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="timed requests of each kind (default 1000)")
    parser.add_argument(
        "--prefill", type=int, default=1_000_000, help="audit entries before timing (default 1,000,000)"
    )
    parser.add_argument("--writers", type=int, default=4, help="concurrent appenders for the contended figure")
    args = parser.parse_args(argv)
    try:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unavailable at {SERVER}: {exc}", file=sys.stderr)
        return 2
    dsn = f"{SERVER}/{DB_NAME}"
    with tempfile.TemporaryDirectory(prefix="anfang-bench-audit-") as media_root:
        _setup(dsn, media_root)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        report = run(dsn, args.requests, args.prefill, args.writers)
    for problem in report.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
