"""Ingest benchmarks (issue 5), on the bench PostgreSQL database, each figure with its ratio to a
limit measured in the same run:

(a) raw COPY of event-shaped rows into a scratch table — the machine's write limit;
(b) MQTT → committed events/s, sustained for a window with zero loss: publisher processes (the
    simulator's MQTT devices) → a private Mosquitto → ingest workers (anfang.events.mqtt_worker,
    what `manage.py ingest_mqtt` runs) → PostgreSQL; published (acknowledged by the broker) and
    committed counted by external id; ratio to (a);
(c) ISAPI HTTP push requests/s against the real endpoint served by gunicorn (WSGI, gthread workers)
    and by uvicorn (ASGI workers), each against a bare endpoint (bench/bare.py) on the same server
    with the same client, same run;
(d) ingest latency receive → committed at a fixed rate over MQTT: a statement trigger records the
    received_at of every row and notifies at commit; a listener notes when each commit arrives.

The broker is started for the run (a private `mosquitto` on a free port, no persistence), so
nothing else on the machine (tests, the demo) shares its subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import datetime as dt
import io
import multiprocessing
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import orjson
import psycopg

from .measure import BenchConfig, Report

ROOT = Path(__file__).resolve().parent.parent
TARGET_MQTT_RATE = 20_000
TARGET_ISAPI_RATIO = 0.5
TARGET_P99_MS = 200.0
LATENCY_RATE = 5_000


@dataclass
class Config(BenchConfig):
    quick: bool = False
    devices: int = 1000
    copy_rows: int = 500_000
    mqtt_rate: float = 20_000
    mqtt_seconds: float = 60
    mqtt_workers: int = 2
    publishers: int = 2
    latency_rate: float = LATENCY_RATE
    latency_seconds: float = 10
    isapi_seconds: float = 15
    isapi_concurrency: int = 32
    profile: bool = False

    QUICK: ClassVar[dict[str, Any]] = {
        "devices": 60,
        "copy_rows": 20_000,
        "mqtt_rate": 1_000,
        "mqtt_seconds": 3,
        "latency_rate": 300,
        "latency_seconds": 2,
        "isapi_seconds": 1.5,
        "isapi_concurrency": 8,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def child_env(dsn: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="anfang.settings",
        ANFANG_DATABASE_URL=dsn,
        ANFANG_DEBUG="0",
        ANFANG_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("ANFANG_SECRET_KEY", "bench-only-" + os.urandom(16).hex())
    env.update(extra)
    return env


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- (a) raw COPY -----------------------------------------------------------------------------

COLUMNS = (
    "id, compound_id, device_id, channel, kind, state, severity, occurred_at, received_at, source, "
    "external_id, vendor_code, flags, payload, media"
)


def event_rows(devices: list[tuple[int, int]], n: int) -> list[tuple]:
    """n rows shaped like the events the MQTT path writes (same columns, similar JSON)."""
    now = dt.datetime.now(dt.UTC)
    kinds = ("heartbeat", "motion", "access_granted", "door_open", "patrol_checkin")
    rows = []
    for i in range(n):
        compound_id, device_id = devices[i % len(devices)]
        moment = now + dt.timedelta(microseconds=i)
        rows.append(
            (
                10**12 + i,
                compound_id,
                device_id,
                1,
                kinds[i % len(kinds)],
                "pulse",
                0,
                moment,
                moment,
                "mqtt",
                f"copy-{device_id}-{i}",
                "HEARTBEAT",
                "[]",
                orjson.dumps({"card_no": f"{i:010d}"}).decode(),
                "[]",
            )
        )
    return rows


def copy_limit(dsn: str, devices: list[tuple[int, int]], n: int) -> float:
    rows = event_rows(devices, n)
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_scratch")
        conn.execute("CREATE TABLE bench_copy_scratch (LIKE events_event INCLUDING DEFAULTS)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY bench_copy_scratch ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy_scratch")
    return n / seconds


# --- broker, workers, publishers ----------------------------------------------------------------

BROKER_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
# A shared subscription's messages wait per member session; the default caps (1000 queued, 20 in
# flight) would drop or throttle a flood. The workers bound what they hold (Receive Maximum).
max_queued_messages 0
max_inflight_messages 0
set_tcp_nodelay true
log_type error
log_dest stderr
"""


@contextlib.contextmanager
def broker() -> Iterator[str]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(exe):
        raise RuntimeError("mosquitto is not installed (scripts/install-os-packages.sh)")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(BROKER_CONF.format(port=port))
        proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if not wait_port(port, 10):
                raise RuntimeError("the bench broker did not start")
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            stop(proc, 5)


WORKER_MAIN = """
import cProfile, os, sys, threading
import django
django.setup()
if os.environ.get("BENCH_NO_HOOKS"):
    # Diagnostic only: the ingest path alone, without what follows from an event (alarms, console).
    from anfang.events import writer
    writer.STORED_HOOKS.clear()
from anfang.events.mqtt_worker import WorkerConfig, run_one
config = WorkerConfig(url=sys.argv[1], client_prefix=sys.argv[2])
profile_to = os.environ.get("BENCH_PROFILE_TO")
profiles = []
if profile_to:
    # cProfile sees one thread; the work happens in the MQTT loop and batch-writer threads.
    original_run = threading.Thread.run
    def profiled_run(self):
        profiler = cProfile.Profile()
        profiles.append(profiler)
        profiler.runcall(original_run, self)
    threading.Thread.run = profiled_run
    main_profiler = cProfile.Profile()
    profiles.append(main_profiler)
    main_profiler.enable()
code = run_one(config, int(sys.argv[3]))
if profile_to:
    main_profiler.disable()
    for i, profiler in enumerate(profiles):
        try:
            profiler.dump_stats(f"{profile_to}.{i}")
        except Exception:
            pass
sys.exit(code)
"""


@contextlib.contextmanager
def workers(
    dsn: str, url: str, n: int, profile_dir: str | None = None, *, hooks: bool = True, prefix: str = ""
) -> Iterator[list[subprocess.Popen]]:
    """n ingest worker processes (the code `manage.py ingest_mqtt` runs), one slot each; `hooks`
    False leaves out the writer's stored-event hooks (alarms, console) to measure ingest alone.
    The same `prefix` resumes the same broker sessions."""
    prefix = prefix or f"bench-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    procs = []
    for slot in range(n):
        extra = {"BENCH_PROFILE_TO": os.path.join(profile_dir, f"worker-{slot}.prof")} if profile_dir else {}
        if not hooks:
            extra["BENCH_NO_HOOKS"] = "1"
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER_MAIN, url, prefix, str(slot)],
                env=child_env(dsn, **extra),
                cwd=ROOT,
            )
        )
    try:
        yield procs
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def publish(url: str, devices: list[dict[str, Any]], rate: float, seconds: float, start_at: float, tag: str) -> dict:
    """One publisher process: the simulator's MQTT devices at `rate` events/s for `seconds`,
    starting at wall-clock `start_at`; external ids start with `tag`. Returns its counts."""
    from anfang.simulator import mqtt
    from anfang.simulator.traffic import Pacer, SimDevice, Traffic

    sims = [SimDevice(**d) for d in devices]
    for sim in sims:
        sim.restricted = {k: w for k, w in sim.mix.items() if mqtt.supports(k)}
    traffic = Traffic(sims, seed=os.getpid())
    publisher = mqtt.Publisher(url, client_id=f"{tag}-{os.getpid()}", max_inflight=5000).connect()
    while time.time() < start_at:
        time.sleep(0.005)
    pacer = Pacer(rate, max_lag=seconds)  # never skip: a slow publisher shows as a longer window
    started = time.monotonic()
    end = started + seconds
    n = 0
    total = int(rate * seconds)
    while n < total:
        due = min(pacer.due(), total - n)
        for _ in range(due):
            h = traffic.next()
            body = mqtt.event_dict(h)
            body["external_id"] = f"{tag}-{os.getpid()}-{n}"
            publisher.publish(mqtt.topic(h), orjson.dumps(body))
            n += 1
        if due == 0:
            time.sleep(min(0.002, max(0.0, end - time.monotonic())))
    window = time.monotonic() - started
    publisher.close(timeout=120)
    return {"published": publisher.published, "acked": publisher.acked, "failed": publisher.failed, "seconds": window}


def _publish_entry(args: tuple, results: Any) -> None:
    results.put(publish(*args))


@dataclass
class Flood:
    rate: float
    seconds: float
    published: int = 0
    acked: int = 0
    failed: int = 0
    publish_seconds: float = 0.0
    committed_in_window: int = 0
    committed: int = 0
    distinct: int = 0
    drain_seconds: float = 0.0
    drained: bool = False
    steady_rate: float = 0.0  # commits/s over the second half of the window

    @property
    def lost(self) -> int:
        """Acknowledged by the broker, never committed (only meaningful once drained)."""
        return self.acked - self.distinct if self.drained else 0

    @property
    def backlog(self) -> int:
        return self.acked - self.distinct

    @property
    def sustained(self) -> bool:
        return self.drained and self.drain_seconds <= 2.0 and self.publish_seconds <= self.seconds * 1.05

    @property
    def committed_rate(self) -> float:
        return self.distinct / (self.publish_seconds + self.drain_seconds) if self.distinct else 0.0


def total_events(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM events_event").fetchone()
    assert row is not None
    return row[0]


def committed(dsn: str, tag: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM events_event WHERE external_id LIKE %s",
            [tag + "-%"],
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def empty_event_tables(dsn: str) -> None:
    """A fresh table per flood, so progress is a plain count."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE events_event, events_eventkey")


def flood(
    dsn: str,
    url: str,
    devices: list[dict[str, Any]],
    rate: float,
    seconds: float,
    publishers: int,
    *,
    drain_limit: float = 60.0,
) -> Flood:
    """Publish at `rate` for `seconds` from `publishers` processes. Counts what is committed every
    second during the window (the steady rate is that of its second half), then waits up to
    `drain_limit` seconds for the backlog; published and committed are compared by external id."""
    tag = f"f{time.time_ns() % 10**9}"
    empty_event_tables(dsn)
    result = Flood(rate, seconds)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 1.5
    shares = [devices[i::publishers] for i in range(publishers)]
    procs = [
        ctx.Process(target=_publish_entry, args=((url, share, rate / publishers, seconds, start_at, tag), results))
        for share in shares
        if share
    ]
    for proc in procs:
        proc.start()
    time.sleep(max(0.0, start_at - time.time()))
    window_started = time.monotonic()
    samples: list[tuple[float, int]] = []
    while (elapsed := time.monotonic() - window_started) < seconds:
        samples.append((elapsed, total_events(dsn)))
        time.sleep(min(1.0, max(0.0, seconds - elapsed)))
    samples.append((time.monotonic() - window_started, total_events(dsn)))
    result.committed_in_window = samples[-1][1]
    half = [(t, n) for t, n in samples if t >= seconds / 2]
    if len(half) >= 2 and half[-1][0] > half[0][0]:
        result.steady_rate = (half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0])
    outcomes = [results.get(timeout=seconds * 4 + 300) for _ in procs]
    for proc in procs:
        proc.join(30)
    result.published = sum(o["published"] for o in outcomes)
    result.acked = sum(o["acked"] for o in outcomes)
    result.failed = sum(o["failed"] for o in outcomes)
    result.publish_seconds = max(o["seconds"] for o in outcomes)
    window_end = window_started + result.publish_seconds
    deadline = time.monotonic() + drain_limit
    count = total_events(dsn)
    while count < result.acked and time.monotonic() < deadline:
        time.sleep(0.2)
        count = total_events(dsn)
    result.drained = count >= result.acked
    result.drain_seconds = max(0.0, time.monotonic() - window_end) if result.committed_in_window < result.acked else 0.0
    result.committed, result.distinct = committed(dsn, tag)
    return result


def warm_up(dsn: str, url: str, devices: list[dict[str, Any]]) -> None:
    """Until the workers are subscribed, published messages have nowhere to go: publish a little
    until some of it is committed, then wait for all of it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tag = f"w{time.time_ns() % 10**9}"
        publish(url, devices[:20], 200, 0.5, time.time(), tag)
        time.sleep(1.0)
        if committed(dsn, tag)[1] >= 100:
            return
    raise RuntimeError("the ingest workers did not commit warm-up messages within 60 s")


# --- (d) latency ----------------------------------------------------------------------------------

PROBE_SQL = """
CREATE TABLE IF NOT EXISTS bench_commit_probe (txid bigint, received_at timestamptz);
TRUNCATE bench_commit_probe;
CREATE OR REPLACE FUNCTION bench_commit_probe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bench_commit_probe SELECT txid_current(), received_at FROM new_rows;
  PERFORM pg_notify('bench_commit', txid_current()::text);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bench_commit_probe ON events_event;
CREATE TRIGGER bench_commit_probe AFTER INSERT ON events_event REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bench_commit_probe();
"""
UNPROBE_SQL = "DROP TRIGGER IF EXISTS bench_commit_probe ON events_event; DROP TABLE IF EXISTS bench_commit_probe;"


class CommitListener(threading.Thread):
    """Notes the wall-clock time at which each probed transaction's commit notification arrives
    (NOTIFY is delivered at commit)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.conn.execute("LISTEN bench_commit")
        self.seen: dict[int, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for note in self.conn.notifies(timeout=0.2):
                self.seen[int(note.payload)] = time.time()

    def close(self) -> None:
        self.stopping.set()
        self.join(5)
        self.conn.close()


@dataclass
class Latency:
    rate: float
    samples_ms: list[float]
    flood: Flood

    def pct(self, p: float) -> float:
        from .measure import percentile

        return percentile(self.samples_ms, p) if self.samples_ms else float("nan")


def latency(
    dsn: str,
    url: str,
    devices: list[dict[str, Any]],
    rate: float,
    seconds: float,
    publishers: int,
    *,
    drain_limit: float = 60.0,
) -> Latency:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(PROBE_SQL)
    listener = CommitListener(dsn)
    listener.start()
    try:
        result = flood(dsn, url, devices, rate, seconds, publishers, drain_limit=drain_limit)
        time.sleep(0.5)
    finally:
        listener.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT txid, extract(epoch FROM received_at) FROM bench_commit_probe").fetchall()
            conn.execute(UNPROBE_SQL)
    samples = [(listener.seen[tx] - float(received)) * 1000 for tx, received in rows if tx in listener.seen]
    return Latency(rate, samples, result)


# --- (c) ISAPI over HTTP ------------------------------------------------------------------------


SERVERS = {
    # server → (the real app, the bare endpoint of the same interface)
    "gunicorn": ("anfang.wsgi:application", "bench.bare:wsgi"),
    "uvicorn": ("anfang.asgi:application", "bench.bare:asgi"),
}
# uvicorn is left out by default: Django runs each sync view of an ASGI request in a thread of its
# own, so every request opens a database connection (no pool configured) and the endpoint collapses
# under concurrency (measured 2026-11-25: 0.2 requests/s with 32 connections). BENCH_ISAPI_SERVERS=
# gunicorn,uvicorn measures both.
ISAPI_SERVERS = os.environ.get("BENCH_ISAPI_SERVERS", "gunicorn").split(",")


def server_command(kind: str, app: str, port: int, workers: int, threads: int) -> list[str]:
    if kind == "gunicorn":
        # The classic production set-up for a sync Django app: worker processes with threads,
        # each thread keeping its own database connection (CONN_MAX_AGE).
        return [
            sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning", "--lifespan", "off",
    ]  # fmt: skip


@contextlib.contextmanager
def server(dsn: str, kind: str, app: str, workers: int, threads: int = 8) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(server_command(kind, app, port, workers, threads), env=child_env(dsn), cwd=ROOT)
    try:
        if not wait_port(port, 30):
            raise RuntimeError(f"{kind} {app} did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@dataclass
class HttpRun:
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    last_error: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _push(url: str, devices: list[dict[str, Any]], seconds: float, concurrency: int, warmup: float) -> HttpRun:
    from anfang.events.choices import EventKind as K
    from anfang.simulator import isapi
    from anfang.simulator.httpclient import Pool
    from anfang.simulator.traffic import SimDevice, Traffic

    sims = [SimDevice(**d) for d in devices]
    camera_kinds = {K.HEARTBEAT, K.MOTION, K.LINE_CROSSING, K.REGION_ENTRANCE, K.PERIMETER_INTRUSION}
    for sim in sims:
        sim.device_type = "camera"
        sim.restricted = {k: w for k, w in sim.mix.items() if k in camera_kinds}
    traffic = Traffic(sims, seed=7)
    pool = Pool(url, concurrency=concurrency)

    async def send_one() -> None:
        h = traffic.next()
        body, content_type = isapi.render(h)
        await pool.submit(pool.prepare(isapi.PATH, body, isapi.request_headers(h.device.token, content_type)))

    # Every server thread's first request pays for imports and its database connection: answer
    # a few rounds before the clock starts.
    warm = concurrency * 4
    for _ in range(warm):
        await send_one()
    deadline = time.monotonic() + 60
    while pool.tally.sent < warm and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    started = time.monotonic()
    measure_from = started + warmup
    end = measure_from + seconds
    base_ok = base_err = None
    while (now := time.monotonic()) < end:
        if base_ok is None and now >= measure_from:
            base_ok, base_err = sum(pool.tally.statuses.values()), pool.tally.errors
        await send_one()
    done_ok, done_err = sum(pool.tally.statuses.values()), pool.tally.errors
    run = HttpRun(
        requests=done_ok - (base_ok or 0),
        seconds=time.monotonic() - measure_from,
        statuses=pool.tally.by_class(),
        errors=done_err - (base_err or 0),
        last_error=pool.tally.last_error,
    )
    await pool.close()
    return run


def push(url: str, devices: list[dict[str, Any]], seconds: float, concurrency: int, warmup: float = 1.0) -> HttpRun:
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_push(url, devices, seconds, concurrency, warmup))
    return asyncio.run(_push(url, devices, seconds, concurrency, warmup))


def profile_isapi(devices: list[dict[str, Any]], n: int = 300, top: int = 25) -> str:
    """cProfile of n ISAPI pushes through the real view in this process (Django test client)."""
    from django.test import Client

    from anfang.simulator import isapi
    from anfang.simulator.traffic import SimDevice, Traffic

    sims = [SimDevice(**d) for d in devices]
    for sim in sims:
        sim.device_type = "camera"
        sim.restricted = {"motion": 1.0, "heartbeat": 1.0}
    traffic = Traffic(sims, seed=11)
    client = Client()

    def one() -> None:
        h = traffic.next()
        body, content_type = isapi.render(h)
        client.post(isapi.PATH, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {h.device.token}")

    for _ in range(20):
        one()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        one()
    profiler.disable()
    return _stats(profiler, top)


def _stats(source: Any, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(source, stream=out) if not isinstance(source, list) else pstats.Stats(*source, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- the run ------------------------------------------------------------------------------------


def sim_devices(n: int, protocols: list[str], tokens_path: Path) -> list[dict[str, Any]]:
    """n devices of the bench city with tokens, as plain dicts (picklable for publishers)."""
    from dataclasses import asdict

    from anfang.simulator.run import select_devices

    chosen = select_devices(n, protocols, tokens_path=tokens_path, reissue=True, log=lambda _: None)
    return [asdict(d) for d in chosen]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min) on {os.cpu_count()} cores"


def run(dsn: str, config: Config) -> Report:
    from django.db import connection

    report = Report()
    say = report.say
    with tempfile.TemporaryDirectory() as tmp:
        tokens = Path(tmp) / "tokens.json"
        mqtt_devices = sim_devices(config.devices, ["mqtt"], tokens)
        isapi_devices = sim_devices(max(20, config.devices // 4), ["isapi"], tokens)
        connection.close()
        pairs = [(d["compound_id"], d["id"]) for d in mqtt_devices]

        say(f"\n## ingest ({load()})")
        copy_rate = copy_limit(dsn, pairs, config.copy_rows)
        report.figures["copy_rows_per_s"] = copy_rate
        say(
            f"(a) raw COPY of {config.copy_rows:,} event-shaped rows into a scratch table: {copy_rate:,.0f} rows/s (the limit)"
        )

        profile_dir = tmp if config.profile else None

        def measure_latency(rate: float, hooks: bool = True) -> Latency:
            with broker() as url, workers(dsn, url, config.mqtt_workers, profile_dir if hooks else None, hooks=hooks):
                warm_up(dsn, url, mqtt_devices)
                lat = latency(dsn, url, mqtt_devices, rate, config.latency_seconds, config.publishers, drain_limit=180)
            if hooks:
                met = "met" if lat.pct(99) <= TARGET_P99_MS and lat.flood.sustained else "MISSED"
                say(
                    f"(d) latency receive → committed at {rate:,.0f} events/s over MQTT "
                    f"({len(lat.samples_ms):,} events published in {lat.flood.publish_seconds:.1f} s, "
                    f"{'kept up' if lat.flood.sustained else 'did NOT keep up'}): p50 {lat.pct(50):.0f} ms, "
                    f"p99 {lat.pct(99):.0f} ms, max {max(lat.samples_ms, default=float('nan')):.0f} ms "
                    f"(target p99 ≤ {TARGET_P99_MS:.0f} ms at {config.latency_rate:,.0f}/s: {met}) [{load()}]"
                )
            if lat.flood.drained and (lat.flood.lost or len(lat.samples_ms) < lat.flood.distinct):
                report.problems.append("latency run lost events")
            return lat

        # At the target latency rate the workers are flooded (unless they keep up): the commit rate
        # from the first to the last event, backlog included, is their capacity on this machine.
        lat = measure_latency(config.latency_rate)
        report.figures["latency_p99_ms"] = lat.pct(99)
        capacity = lat.flood.committed_rate
        report.figures["mqtt_capacity_per_s"] = capacity
        at_least = "at least " if lat.flood.sustained else ""  # it kept up: the capacity is higher
        say(
            f"(b) ingest capacity ({config.mqtt_workers} workers, the {lat.flood.distinct:,} events above from the "
            f"first publish to the last commit): {at_least}{capacity:,.0f} committed events/s = "
            f"{capacity / copy_rate:.1%} of raw COPY [{load()}]"
        )
        bare_lat = measure_latency(config.latency_rate, hooks=False)
        report.figures["mqtt_capacity_no_hooks_per_s"] = bare_lat.flood.committed_rate
        say(
            f"(b) the same without the writer's stored-event hooks (alarm raising, duty log, console): "
            f"{bare_lat.flood.committed_rate:,.0f}/s = {bare_lat.flood.committed_rate / copy_rate:.1%} of raw COPY, "
            f"latency p99 {bare_lat.pct(99):,.0f} ms [{load()}]"
        )
        if not lat.flood.sustained:
            # Beyond capacity the latency is queueing; also show it where the workers keep up.
            easy = max(50.0, capacity * 0.5 // 50 * 50)
            report.figures["latency_p99_ms_at_half_capacity"] = measure_latency(easy).pct(99)

        # The zero-loss run: publishers and workers together, at the target or, when the workers
        # cannot take it, at 80 % of their capacity (the publishers need CPU too).
        full = lat.flood.sustained or capacity >= config.mqtt_rate
        rate = config.mqtt_rate if full else max(100.0, capacity * 0.8 // 100 * 100)
        with broker() as url, workers(dsn, url, config.mqtt_workers):
            warm_up(dsn, url, mqtt_devices)
            f = flood(dsn, url, mqtt_devices, rate, config.mqtt_seconds, config.publishers)
        report.figures["mqtt_committed_per_s"] = f.committed_rate
        report.figures["mqtt_lost"] = f.lost
        met = f.sustained and f.committed_rate >= TARGET_MQTT_RATE * 0.98
        say(
            f"(b) MQTT → committed, {config.mqtt_workers} ingest workers, {config.publishers} publishers: offered "
            f"{rate:,.0f}/s for {config.mqtt_seconds:.0f} s: published {f.published:,} in {f.publish_seconds:.1f} s "
            f"({f.published / f.publish_seconds:,.0f}/s), broker acked {f.acked:,}, committed {f.distinct:,} distinct "
            f"({f.committed - f.distinct} duplicates stored), {f.committed_in_window:,} by the window's end, "
            + (f"the rest {f.drain_seconds:.1f} s later" if f.drained else f"{f.backlog:,} still queued after the wait")
            + f" → {f.committed_rate:,.0f} committed events/s = {f.committed_rate / copy_rate:.1%} of raw COPY; "
            f"{'sustained' if f.sustained else 'NOT sustained'}, lost {f.lost} "
            f"(target ≥ {TARGET_MQTT_RATE:,}/s with zero loss: {'met' if met else 'MISSED'}) [{load()}]"
        )
        if f.lost or f.committed != f.distinct:
            report.problems.append(f"MQTT flood lost {f.lost} events, stored {f.committed - f.distinct} twice")
        if profile_dir:
            profs = [str(p) for p in Path(profile_dir).glob("worker-*.prof.*") if p.stat().st_size]
            if profs:
                report.profiles.append(
                    "### MQTT ingest workers in the latency/capacity run (cProfile, every thread of both workers)\n"
                    + _stats(profs, 30)
                )

        for kind in ISAPI_SERVERS:
            real_app, bare_app = SERVERS[kind]
            with server(dsn, kind, real_app, config.mqtt_workers) as url:
                real = push(url, isapi_devices, config.isapi_seconds, config.isapi_concurrency)
            with server(dsn, kind, bare_app, config.mqtt_workers) as url:
                bare = push(url, isapi_devices, config.isapi_seconds, config.isapi_concurrency)
            ratio = real.rate / bare.rate if bare.rate else 0.0
            report.figures[f"isapi_rps_{kind}"] = real.rate
            report.figures[f"bare_rps_{kind}"] = bare.rate
            threads = ", 8 threads each" if kind == "gunicorn" else ""
            say(
                f"(c) ISAPI push over HTTP, {kind} ({config.mqtt_workers} workers{threads}), "
                f"{config.isapi_concurrency} keep-alive connections from one client process: "
                f"{real.rate:,.0f} requests/s {real.statuses} errors {real.errors} vs the bare endpoint "
                f"{bare.rate:,.0f} requests/s = {ratio:.1%} (target ≥ {TARGET_ISAPI_RATIO:.0%}: "
                f"{'met' if ratio >= TARGET_ISAPI_RATIO else 'MISSED'}) [{load()}]"
            )
            if real.errors or set(real.statuses) - {"2xx"}:
                report.problems.append(
                    f"ISAPI ({kind}) answered {real.statuses}, errors {real.errors}: {real.last_error}"
                )
        if config.profile:
            report.profiles.append(
                "### ISAPI push through the Django view (cProfile, in process)\n" + profile_isapi(isapi_devices)
            )
    return report
