"""Compliance assessment of the whole synthetic city (issue 4: ≤ 2 s on PostgreSQL, a number of
queries that does not grow with the number of compounds).

`services.assess` is timed on every active and inactive compound of the city, in two cases:
every snapshot new (the compliance tables emptied before each run: the first assessment, the
worst case) and every snapshot already stored (a re-assessment of an unchanged city). Its
phases are timed by calling the same public pieces on their own (snapshots, canonical JSON and
hash, rules); the writes run on a second thread while the rules run, so what remains of the
total is the part of the writes the rules did not hide, and the commit. Besides wall time, the
Python process's CPU time of each run is recorded (it moves far less than wall time when other
work shares the machine), and the load average before and after.

The limit each figure is divided by: the raw I/O of the same work on its own psycopg connection,
measured the same way in the same run — the SELECTs `build_snapshots` issues, fetched in full,
plus a COPY of the very rows the assessment wrote (snapshots and per-compound results with
their findings) into the same tables, committed."""

from __future__ import annotations

import cProfile
import gc
import io
import os
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anfang.compliance.engine import get_pack, run
from anfang.compliance.models import Assessment, CompoundAssessment
from anfang.compliance.services import assess
from anfang.compliance.snapshot import build_snapshots, snapshot_hash
from anfang.compounds.models import Compound
from anfang.devices.models import Device

TARGET_S = 2.0
TABLES = ("compliance_assessment", "compliance_compoundassessment", "compliance_storedsnapshot")


@dataclass
class Series:
    samples: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)


def timed(fn: Callable[[], Any], series: Series, cpu: Series | None = None) -> Any:
    started, cpu_started = time.perf_counter(), time.process_time()
    result = fn()
    series.samples.append(time.perf_counter() - started)
    if cpu is not None:
        cpu.samples.append(time.process_time() - cpu_started)
    return result


def empty_compliance_tables() -> None:
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)}")


# ---- the limit: raw I/O of the same rows ------------------------------------------------------


def snapshot_sql() -> list[str]:
    """The statements `build_snapshots` sends for the whole city, as executed."""
    with CaptureQueriesContext(connection) as ctx:
        build_snapshots(Compound.objects.all())
    return [q["sql"] for q in ctx.captured_queries]


def raw_read(conn: psycopg.Connection, statements: list[str]) -> int:
    rows = 0
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
            rows += len(cur.fetchall())
    return rows


RESULT_COLUMNS = (
    "assessment_id, compound_id, snapshot_id, assessed_at, n_pass, n_fail, n_unknown, "
    "n_not_applicable, n_error, n_recommendation, findings"
)


def written_rows(conn: psycopg.Connection, assessment_id: int) -> tuple[list[tuple], list[tuple]]:
    """The snapshot rows and result rows one assessment wrote (untimed)."""
    with conn.cursor() as cur:
        cur.execute("SELECT hash, data, created_at FROM compliance_storedsnapshot")
        snapshots = cur.fetchall()
        cur.execute(
            f"SELECT {RESULT_COLUMNS.replace('findings', 'findings::text')} "
            "FROM compliance_compoundassessment WHERE assessment_id = %s",
            [assessment_id],
        )
        results = cur.fetchall()
    return snapshots, results


def raw_write(conn: psycopg.Connection, snapshots: list[tuple], results: list[tuple], assessment_id: int) -> float:
    """Seconds to COPY the same rows again and commit (snapshot keys changed so they do not
    collide, results under an existing assessment); the copies are deleted afterwards, untimed."""
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM compliance_compoundassessment")
        (top,) = cur.fetchone() or (0,)
    keys = [h[::-1] for h, _, _ in snapshots]
    started = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy("COPY compliance_storedsnapshot (hash, data, created_at) FROM STDIN") as copy:
            for key, (_, data, created) in zip(keys, snapshots, strict=True):
                copy.write_row((key, data, created))
        with cur.copy(f"COPY compliance_compoundassessment ({RESULT_COLUMNS}) FROM STDIN") as copy:
            for row in results:
                copy.write_row((assessment_id, *row[1:]))
    seconds = time.perf_counter() - started
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM compliance_compoundassessment WHERE id > %s", [top])
        cur.execute("DELETE FROM compliance_storedsnapshot WHERE hash = ANY(%s)", [keys])
    return seconds


# ---- the app ----------------------------------------------------------------------------------


@dataclass
class Phases:
    snapshots: Series = field(default_factory=Series)
    canonical: Series = field(default_factory=Series)
    rules: Series = field(default_factory=Series)


def measure_phases(phases: Phases) -> None:
    """The computing steps of `assess`, each on its own, on the whole city, with the cyclic
    garbage collector off as in `assess`."""
    gc.disable()
    try:
        snaps = timed(lambda: build_snapshots(Compound.objects.all()), phases.snapshots)
        timed(lambda: [snapshot_hash(s.canonical_bytes()) for s in snaps.values()], phases.canonical)
        pack = get_pack()
        timed(lambda: [run(pack, s) for s in snaps.values()], phases.rules)
    finally:
        gc.enable()


@dataclass
class Report:
    compounds: int
    devices: int
    findings: int
    queries: int
    new: Series
    known: Series
    read: Series
    write: Series
    phases: Phases
    cpu: Series
    load: tuple[float, float]
    profile: str = ""

    @property
    def limit(self) -> float:
        return self.read.p50 + self.write.p50

    def lines(self) -> list[str]:
        verdict = "target met" if self.new.p50 <= TARGET_S else "TARGET MISSED"
        p = self.phases
        computed = p.snapshots.p50 + p.canonical.p50 + p.rules.p50
        return [
            f"compliance assess city ({self.compounds:,} compounds, {self.devices:,} devices, "
            f"{self.findings:,} findings), every snapshot new: p50 {self.new.p50:.2f} s, best {self.new.best:.2f} s "
            f"(target {TARGET_S:.0f} s, {verdict}) = {self.new.p50 / self.limit:.1f}x raw I/O of the same rows "
            f"(SELECT {self.read.p50:.2f} s + COPY {self.write.p50:.2f} s = {self.limit:.2f} s); "
            f"{self.queries} SQL statements; n={len(self.new.samples)}",
            f"compliance re-assessment, snapshots already stored: p50 {self.known.p50:.2f} s, "
            f"best {self.known.best:.2f} s = {self.known.p50 / self.limit:.1f}x raw I/O; n={len(self.known.samples)}",
            f"  phases (p50, each on its own): snapshots {p.snapshots.p50:.2f} s, canonical JSON + sha256 "
            f"{p.canonical.p50:.2f} s, rules {p.rules.p50:.2f} s; the rest of the total (writes not hidden "
            f"behind the rules, commit) ≈ {max(self.new.p50 - computed, 0):.2f} s",
            f"  Python CPU per assessment (every snapshot new): p50 {self.cpu.p50:.2f} s, best {self.cpu.best:.2f} s; "
            f"load average (1 min) {self.load[0]:.2f} before, {self.load[1]:.2f} after",
        ]


def profile_assess() -> str:
    empty_compliance_tables()
    prof = cProfile.Profile()
    prof.enable()
    assess(None, Compound.objects.all(), scope_label="bench profile")
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
    return out.getvalue()


def run_bench(dsn: str, repeats: int, *, profile: bool = False) -> Report:
    everything = Compound.objects.all()
    assess(None, everything, scope_label="bench warm-up")  # imports, first connection, caches
    empty_compliance_tables()
    with CaptureQueriesContext(connection) as ctx:
        first = assess(None, everything, scope_label="bench query count")
    new, known, read, write, phases, cpu = Series(), Series(), Series(), Series(), Phases(), Series()
    load_before = os.getloadavg()[0]
    statements = snapshot_sql()
    with psycopg.connect(dsn, autocommit=True) as raw:
        snapshots, results = written_rows(raw, first.pk)
        for _ in range(repeats):
            empty_compliance_tables()
            timed(lambda: assess(None, everything, scope_label="bench new"), new, cpu)
            latest = timed(lambda: assess(None, everything, scope_label="bench known"), known)
            timed(lambda: raw_read(raw, statements), read)
            write.samples.append(raw_write(raw, snapshots, results, latest.pk))
            measure_phases(phases)
    report = Report(
        compounds=first.compounds_count,
        devices=Device.objects.filter(compound__in=everything).count(),
        findings=sum(first.counts.values()),
        queries=len(ctx.captured_queries),
        new=new,
        known=known,
        read=read,
        write=write,
        phases=phases,
        cpu=cpu,
        load=(load_before, os.getloadavg()[0]),
        profile=profile_assess() if profile else "",
    )
    empty_compliance_tables()
    assert not Assessment.objects.exists() and not CompoundAssessment.objects.exists()
    return report
