"""Console benchmarks (issue 6), on the bench PostgreSQL database, each figure with its ratio to a
limit measured in the same run:

(1) alarm → console latency. One operator's console holds an SSE stream (/console/<id>/stream)
    on a real server (gunicorn, gthread workers, as bench/ingest.py serves the ISAPI endpoint).
    A probe process pushes perimeter_intrusion events through the ISAPI endpoint
    (POST /ingest/isapi/, the path a Hikvision camera uses) at a steady rate; the server stamps
    received_at on arrival, raises the alarm inside the event's write transaction and NOTIFYs at
    commit; the SSE client (a process of its own) notes when each `alarm` frame arrives. Figure:
    received_at → frame received, p50/p95/p99, without and with background ingest (the MQTT
    path of issue 5: publisher processes → a private Mosquitto → ingest workers) offered at
    5,000 events/s, whose committed rate is measured and reported as achieved. Limit: a raw
    PostgreSQL NOTIFY → LISTEN round trip (its own process and connections) at the same time.
(2) The console page GET /console/<id>/ of a compound with 500 open alarms, in process through
    django.test.Client (full middleware, session auth, scope, template rendering); limit: the
    raw SQL fetching the same rows with psycopg on its own connection."""

from __future__ import annotations

import contextlib
import cProfile
import datetime as dt
import http.client
import multiprocessing
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import orjson
import psycopg

from . import ingest
from .measure import BenchConfig, Report, Timing, percentile, repeat

TARGET_P99_MS = 100.0
TARGET_PAGE_MS = 200.0
BACKGROUND_RATE = 5_000
NOTIFY_CHANNEL = "bench_console_probe"


@dataclass
class Config(BenchConfig):
    quick: bool = False
    open_alarms: int = 500
    page_requests: int = 50
    page_warmup: int = 10
    probe_rate: float = 10.0  # perimeter pushes (and raw NOTIFYs) per second
    idle_seconds: float = 20
    load_seconds: float = 30
    background_rate: float = BACKGROUND_RATE
    background_devices: int = 1000
    mqtt_workers: int = 2
    publishers: int = 2
    server_workers: int = 2
    server_threads: int = 8
    profile: bool = False

    QUICK: ClassVar[dict[str, Any]] = {
        "open_alarms": 50,
        "page_requests": 5,
        "page_warmup": 2,
        "idle_seconds": 2,
        "load_seconds": 4,
        "background_rate": 200,
        "background_devices": 20,
        "mqtt_workers": 1,
        "publishers": 1,
        "server_workers": 1,
        "server_threads": 4,
    }


def pct(samples: list[float], p: float) -> float:
    return percentile(samples, p) if samples else float("nan")


# --- (2) the console page ------------------------------------------------------------------------


def raw_queries() -> list[str]:
    """The rows the console page shows, fetched directly: the compound, the open alarm queue with
    device and handler names, the device board with health, the latest non-heartbeat events, who
    is on duty and the last log entries (selectors.py, one statement each)."""
    from django.contrib.auth import get_user_model

    from anfang.alarms import choices as ac
    from anfang.alarms.models import Alarm
    from anfang.compounds.models import Compound, DutyRoom
    from anfang.devices.models import Device, DeviceHealth
    from anfang.duty.models import DutySession, LogEntry
    from anfang.events.models import Event

    user = get_user_model()._meta.db_table
    room = DutyRoom._meta.db_table
    open_statuses = ", ".join(f"'{s}'" for s in ac.OPEN_STATUSES)
    return [
        f"SELECT * FROM {Compound._meta.db_table} WHERE id = %(c)s",
        f"""SELECT a.id, a.compound_id, a.kind, a.priority, a.status, a.stale, a.raised_at, a.last_event_at,
                   a.event_count, a.escalation_level, a.acknowledged_at, a.dispatched_at, a.on_site_at,
                   d.id, d.name, d.location_note, k.id, k.username, k.first_name, k.last_name,
                   p.id, p.username, p.first_name, p.last_name
              FROM {Alarm._meta.db_table} a
              JOIN {Device._meta.db_table} d ON d.id = a.device_id
              LEFT JOIN {user} k ON k.id = a.acknowledged_by_id
              LEFT JOIN {user} p ON p.id = a.dispatched_to_id
             WHERE a.compound_id = %(c)s AND a.status IN ({open_statuses})
             ORDER BY a.priority DESC, a.raised_at, a.id""",
        f"""SELECT d.id, d.name, d.compound_id, d.device_type, d.status, d.location_note,
                   h.last_seen_at, h.last_event_at
              FROM {Device._meta.db_table} d LEFT JOIN {DeviceHealth._meta.db_table} h ON h.device_id = d.id
             WHERE d.compound_id = %(c)s AND d.status <> 'retired' ORDER BY d.name, d.id""",
        f"""SELECT id, device_id, kind, state, severity, occurred_at, received_at, flags, media
              FROM {Event._meta.db_table} WHERE compound_id = %(c)s AND kind <> 'heartbeat'
             ORDER BY received_at DESC, id DESC LIMIT 30""",
        f"""SELECT s.*, u.*, r.* FROM {DutySession._meta.db_table} s
              JOIN {room} r ON r.id = s.duty_room_id JOIN {user} u ON u.id = s.operator_id
             WHERE r.compound_id = %(c)s AND s.signed_off_at IS NULL""",
        f"""SELECT l.*, u.* FROM {LogEntry._meta.db_table} l
              JOIN {room} r ON r.id = l.duty_room_id LEFT JOIN {user} u ON u.id = l.author_id
             WHERE r.compound_id = %(c)s ORDER BY l.at DESC, l.id DESC LIMIT 8""",
    ]


def raw_page(conn: psycopg.Connection, sql: list[str], compound_id: int) -> int:
    rows = 0
    with conn.cursor() as cur:
        for statement in sql:
            cur.execute(statement, {"c": compound_id})
            rows += len(cur.fetchall())
    return rows


def operator_for(compound_ids: list[int]) -> Any:
    """A duty operator (值班员) whose grants cover these compounds."""
    from django.contrib.auth import get_user_model

    from anfang.core.choices import Role
    from anfang.core.models import RoleGrant

    user, _ = get_user_model().objects.get_or_create(
        username="bench-console-operator", defaults={"first_name": "值班员", "last_name": "测"}
    )
    for pk in compound_ids:
        RoleGrant.objects.get_or_create(user=user, role=Role.DUTY_OPERATOR, compound_id=pk)
    return user


def fill_page_compound(compound_id: int, operator: Any, n_alarms: int) -> int:
    """What a busy console shows: n open alarms in every state on the compound's devices, health
    for every device (some offline), 40 recent events, the operator signed on and a duty log.
    Returns the number of devices."""
    from django.contrib.auth import get_user_model

    from anfang.alarms import choices as ac
    from anfang.alarms.models import Alarm
    from anfang.compounds.models import DutyRoom
    from anfang.devices.models import Device, DeviceHealth
    from anfang.duty import choices as duc
    from anfang.duty.models import DutySession, LogEntry
    from anfang.events import choices as ec
    from anfang.events import writer
    from anfang.events.ingest import Incoming, normalise

    now = dt.datetime.now(dt.UTC)
    devices = list(Device.objects.filter(compound_id=compound_id).order_by("id"))
    guard, _ = get_user_model().objects.get_or_create(username="bench-console-guard", defaults={"first_name": "保安"})
    kinds = [ec.EventKind.PERIMETER_INTRUSION, ec.EventKind.DOOR_FORCED, ec.EventKind.TAMPER, ec.EventKind.VIDEO_LOSS]
    statuses = [ac.Status.NEW, ac.Status.NEW, ac.Status.ACKNOWLEDGED, ac.Status.DISPATCHED]
    alarms = []
    for i in range(n_alarms):
        status = statuses[i % 4]
        alarms.append(
            Alarm(
                compound_id=compound_id,
                device=devices[i % len(devices)],
                kind=kinds[i % 4],
                priority=1 + i % 4,
                status=status,
                stale=i % 25 == 0,
                raised_at=now - dt.timedelta(seconds=i * 7),
                first_event_id=i,
                last_event_id=i,
                last_event_at=now,
                event_count=1 + i % 3,
                escalation_level=int(i % 5 == 0),
                acknowledged_at=now if status != ac.Status.NEW else None,
                acknowledged_by=operator if status != ac.Status.NEW else None,
                dispatched_at=now if status == ac.Status.DISPATCHED else None,
                dispatched_to=guard if status == ac.Status.DISPATCHED else None,
            )
        )
    Alarm.objects.bulk_create(alarms)
    DeviceHealth.objects.filter(device__compound_id=compound_id).delete()
    DeviceHealth.objects.bulk_create(
        DeviceHealth(device=d, last_seen_at=now - dt.timedelta(seconds=30 if i % 7 else 900), last_event_at=now)
        for i, d in enumerate(devices)
    )
    writer.write(
        [
            normalise(
                Incoming(
                    device_id=d.pk,
                    compound_id=compound_id,
                    kind=ec.EventKind.MOTION,
                    occurred_at=now - dt.timedelta(seconds=i),
                    source=ec.Source.API,
                    external_id=f"bench-console-{d.pk}-{i}",
                ),
                now,
            )
            for i, d in enumerate((devices * 2)[:40])
        ]
    )
    room = DutyRoom.objects.filter(compound_id=compound_id).first()
    if room is not None:
        DutySession.objects.filter(operator=operator, signed_off_at=None).update(signed_off_at=now)
        DutySession.objects.create(duty_room=room, operator=operator, signed_on_at=now - dt.timedelta(hours=3))
        LogEntry.objects.bulk_create(
            LogEntry(
                duty_room=room,
                at=now - dt.timedelta(minutes=i),
                kind=duc.LogKind.MANUAL,
                author=operator,
                text="巡查正常",
            )
            for i in range(12)
        )
    return len(devices)


@dataclass
class PageResult:
    timing: Timing
    baseline: Timing
    queries: int
    devices: int
    open_alarms: int
    profile: str = ""


def page_bench(dsn: str, compound_id: int, operator: Any, config: Config) -> PageResult:
    from django.db import connection
    from django.test import Client

    devices = fill_page_compound(compound_id, operator, config.open_alarms)
    client = Client()
    client.force_login(operator)
    url = f"/console/{compound_id}/"
    first = client.get(url)  # also remembers the compound in the session (a write the others skip)
    if first.status_code != 200 or b"<html" not in first.content.lower():
        raise RuntimeError(f"{url} answered HTTP {first.status_code}")
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    # Counted at the cursor, whatever DEBUG and the query log say.
    with connection.execute_wrapper(count):
        client.get(url)
    timing = repeat(lambda _i: client.get(url), config.page_requests, config.page_warmup)
    sql = raw_queries()
    with psycopg.connect(dsn, autocommit=True) as raw:
        rows = raw_page(raw, sql, compound_id)
        if rows < config.open_alarms:
            raise RuntimeError(f"raw SQL found {rows} rows, fewer than the {config.open_alarms} alarms")
        baseline = repeat(lambda _i: raw_page(raw, sql, compound_id), config.page_requests, config.page_warmup)
    profile = ""
    if config.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20):
            client.get(url)
        profiler.disable()
        profile = ingest._stats(profiler, 25)
    return PageResult(timing, baseline, len(queries), devices, config.open_alarms, profile)


# --- (1) alarm latency: the probe processes ----------------------------------------------------


def parse_frame(raw: bytes) -> tuple[str, Any]:
    """One SSE frame → (event, data); data decoded from JSON when it is."""
    event, data = "message", ""
    for line in raw.decode("utf-8", "replace").split("\n"):
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
    try:
        return event, orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        return event, data


def sse_client(port: int, path: str, cookie: str, ready: Any, stop: Any, out: Any) -> None:
    """Holds one console stream open (HTTP/1.0, so the body is the bare event stream) and notes
    the wall-clock time each `alarm` frame arrives; reports when `stop` is set."""
    alarms: list[tuple[float, Any]] = []
    frames: Counter[str] = Counter()
    status, ended = "", ""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = (
            f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
        )
        sock.sendall(request.encode())
        sock.settimeout(0.2)
        buf = b""
        while not stop.is_set():
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            now = time.time()
            if not chunk:
                ended = "the server closed the stream"
                break
            buf += chunk
            if not status:
                if b"\r\n\r\n" not in buf:
                    continue
                head, buf = buf.split(b"\r\n\r\n", 1)
                status = head.split(b"\r\n", 1)[0].decode()
                if " 200 " not in status + " ":
                    ended = f"stream answered {status}"
                    break
            while b"\n\n" in buf:
                raw, buf = buf.split(b"\n\n", 1)
                event, data = parse_frame(raw)
                frames[event] += 1
                if event == "hello":
                    ready.set()
                elif event == "alarm":
                    alarms.append((now, data))
        sock.close()
    except OSError as exc:
        ended = f"{type(exc).__name__}: {exc}"
    out.put({"alarms": alarms, "frames": dict(frames), "status": status, "ended": ended})


def pusher(port: int, devices: list[dict[str, Any]], rate: float, seconds: float, out: Any) -> None:
    """Pushes perimeter_intrusion events over ISAPI at `rate`/s, one at a time on a keep-alive
    connection, as the camera would; notes (sent, answered, status) of each."""
    from anfang.events.choices import EventKind
    from anfang.simulator import isapi
    from anfang.simulator.traffic import SimDevice, Traffic

    sims = [SimDevice(**d) for d in devices]
    traffic = Traffic(sims, seed=os.getpid())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples: list[tuple[float, float, int]] = []
    started = time.monotonic()
    for i in range(max(1, int(rate * seconds))):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        h = traffic.next(kind=EventKind.PERIMETER_INTRUSION)
        body, content_type = isapi.render(h)
        headers = isapi.request_headers(h.device.token, content_type)
        sent = time.time()
        try:
            conn.request("POST", isapi.PATH, body, headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        samples.append((sent, time.time(), status))
    conn.close()
    out.put(samples)


def notify_probe(dsn: str, rate: float, seconds: float, out: Any) -> None:
    """The limit: NOTIFY on one connection → received on another that LISTENs, at `rate`/s."""
    received: dict[int, float] = {}
    stopping = threading.Event()
    listener = psycopg.connect(dsn, autocommit=True)
    listener.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def listen() -> None:
        while not stopping.is_set():
            for note in listener.notifies(timeout=0.2):
                received[int(note.payload)] = time.time()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    sent: dict[int, float] = {}
    with psycopg.connect(dsn, autocommit=True) as sender:
        started = time.monotonic()
        for i in range(max(1, int(rate * seconds))):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent[i] = time.time()
            sender.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, str(i)])
    time.sleep(0.5)
    stopping.set()
    thread.join(5)
    listener.close()
    out.put({"samples_ms": [(received[i] - t) * 1000 for i, t in sent.items() if i in received], "sent": len(sent)})


# --- (1) alarm latency: the run ------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    pushes: list[tuple[float, float, int]]
    alarms: list[tuple[int, float]]  # (alarm id, raised_at as epoch seconds), in id order
    notify_ms: list[float]
    notify_sent: int
    background: ingest.Flood | None = None
    background_note: str = ""
    ingest_ms: list[float] = field(default_factory=list)  # received_at → alarm frame received
    push_ms: list[float] = field(default_factory=list)  # push sent → alarm frame received
    missed: int = 0

    @property
    def post_ms(self) -> list[float]:
        return [(done - sent) * 1000 for sent, done, status in self.pushes if 200 <= status < 300]

    @property
    def failed_pushes(self) -> int:
        return sum(1 for *_t, status in self.pushes if not 200 <= status < 300)

    def settle(self, seen: dict[int, float]) -> None:
        """Pair alarms with the frames that announced them (first frame per alarm id) and, when
        every push raised exactly one alarm, with the pushes in order (one push at a time)."""
        self.ingest_ms = [(seen[pk] - raised) * 1000 for pk, raised in self.alarms if pk in seen]
        self.missed = sum(1 for pk, _ in self.alarms if pk not in seen)
        ok = [p for p in self.pushes if 200 <= p[2] < 300]
        if len(ok) == len(self.alarms):
            self.push_ms = [(seen[pk] - p[0]) * 1000 for p, (pk, _) in zip(ok, self.alarms, strict=True) if pk in seen]


def probe_alarms(compound_id: int, after_id: int) -> list[tuple[int, float]]:
    from anfang.alarms.models import Alarm
    from anfang.events.choices import EventKind

    rows = (
        Alarm.objects.filter(compound_id=compound_id, kind=EventKind.PERIMETER_INTRUSION, id__gt=after_id)
        .order_by("id")
        .values_list("id", "raised_at")
    )
    return [(pk, raised.timestamp()) for pk, raised in rows]


def last_alarm_id() -> int:
    from django.db.models import Max

    from anfang.alarms.models import Alarm

    return Alarm.objects.aggregate(m=Max("id"))["m"] or 0


def run_probes(
    ctx: Any, dsn: str, port: int, devices: list[dict[str, Any]], rate: float, seconds: float
) -> tuple[list[tuple[float, float, int]], dict[str, Any]]:
    results = ctx.Queue()
    notes = ctx.Queue()
    push = ctx.Process(target=pusher, args=(port, devices, rate, seconds, results))
    note = ctx.Process(target=notify_probe, args=(dsn, rate, seconds, notes))
    push.start()
    note.start()
    pushes = results.get(timeout=seconds * 10 + 120)
    notified = notes.get(timeout=seconds * 2 + 60)
    push.join(10)
    note.join(10)
    return pushes, notified


def phase(
    name: str,
    ctx: Any,
    dsn: str,
    port: int,
    compound_id: int,
    devices: list[dict[str, Any]],
    rate: float,
    seconds: float,
) -> Phase:
    from django.db import connection

    before = last_alarm_id()
    connection.close()
    pushes, notified = run_probes(ctx, dsn, port, devices, rate, seconds)
    return Phase(name, pushes, probe_alarms(compound_id, before), notified["samples_ms"], notified["sent"])


@contextlib.contextmanager
def web_server(dsn: str, workers: int, threads: int, secret_key: str) -> Iterator[int]:
    """gunicorn with gthread workers serving the real app (bench/ingest.py's set-up), in a process
    group of its own: a stream thread only notices its client left at its next write (up to the
    15 s keep-alive), so a graceful stop would wait for it; the group is killed after a short grace."""
    port = ingest.free_port()
    command = ingest.server_command("gunicorn", "anfang.wsgi:application", port, workers, threads)
    # The server must read the session this process signs for the console: the same key.
    env = ingest.child_env(dsn, ANFANG_SECRET_KEY=secret_key)
    proc = subprocess.Popen(command, env=env, cwd=ingest.ROOT, start_new_session=True)
    try:
        if not ingest.wait_port(port, 30):
            raise RuntimeError("gunicorn did not start")
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(1)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def probe_compound() -> tuple[int, list[int]]:
    """The compound with the most Hikvision cameras (they push over ISAPI) and those cameras."""
    from django.db.models import Count

    from anfang.devices.choices import DeviceStatus, DeviceType, Vendor
    from anfang.devices.models import Device

    cameras = Device.objects.filter(device_type=DeviceType.CAMERA, vendor=Vendor.HIKVISION).exclude(
        status=DeviceStatus.RETIRED
    )
    top = cameras.values("compound_id").annotate(n=Count("id")).order_by("-n", "compound_id").first()
    if top is None:
        raise RuntimeError("no Hikvision camera in the database to push perimeter alarms from")
    return top["compound_id"], list(cameras.filter(compound_id=top["compound_id"]).values_list("id", flat=True))


def prepare_probe(compound_id: int, camera_ids: list[int], tokens: Path) -> list[dict[str, Any]]:
    """The probe compound's cameras with tokens, and its perimeter rule: every event a new alarm
    (correlation 0, so each push is announced as new, not joined) that does not escalate during
    the run (escalation would announce old alarms again)."""
    from dataclasses import asdict

    from anfang.alarms import choices as ac
    from anfang.alarms.models import AlarmRule
    from anfang.events.choices import EventKind
    from anfang.simulator.run import select_devices

    AlarmRule.objects.update_or_create(
        compound_id=compound_id,
        kind=EventKind.PERIMETER_INTRUSION,
        defaults={
            "raises_alarm": True,
            "priority": ac.Priority.URGENT,
            "correlation_seconds": 0,
            "escalate_after_seconds": 86_400,
        },
    )
    chosen = select_devices(
        len(camera_ids), ["isapi"], compound_ids=[compound_id], tokens_path=tokens, reissue=True, log=lambda _: None
    )
    return [asdict(d) for d in chosen if d.id in set(camera_ids)]


def page_compound(other_than: int) -> int:
    """The compound with the most devices (the busiest board), other than the probe's."""
    from django.db.models import Count

    from anfang.devices.models import Device

    top = (
        Device.objects.exclude(compound_id=other_than)
        .values("compound_id")
        .annotate(n=Count("id"))
        .order_by("-n", "compound_id")
        .first()
    )
    if top is None:
        raise RuntimeError("no other compound with devices for the console page")
    return top["compound_id"]


def signing_key() -> str:
    """This process's key, unless it is the development one, which a server with DEBUG off refuses."""
    from django.conf import settings

    key = settings.SECRET_KEY
    return "bench-only-" + os.urandom(16).hex() if key.startswith("dev-only") else key


def session_cookie(user: Any, secret_key: str) -> str:
    """A logged-in session for the SSE client, signed with the server's key."""
    from django.conf import settings
    from django.test import Client, override_settings

    client = Client()
    with override_settings(SECRET_KEY=secret_key):
        client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def run(dsn: str, config: Config) -> Report:
    from django.db import connection

    from anfang.alarms.choices import OPEN_STATUSES, Status
    from anfang.alarms.models import Alarm

    report = Report()
    say = report.say
    say(f"\n## console (issue 6) ({ingest.load()})")

    # (2) the page first, on a quiet machine.
    probe_id, camera_ids = probe_compound()
    page_id = page_compound(probe_id)
    operator = operator_for([probe_id, page_id])
    page = page_bench(dsn, page_id, operator, config)
    t, b = page.timing, page.baseline
    report.figures.update(page_p50_ms=t.p50, page_p95_ms=t.p95, page_raw_p95_ms=b.p95, page_queries=page.queries)
    say(
        f"(2) console page GET /console/<id>/ with {page.open_alarms} open alarms ({page.devices} devices, 40 events, "
        f"operator on duty, duty log), in-process Django test client, {len(t.samples_ms)} timed after "
        f"{config.page_warmup} warm-up: p50 {t.p50:.1f} ms, p95 {t.p95:.1f} ms (target ≤ {TARGET_PAGE_MS:.0f} ms: "
        f"{'met' if t.p95 <= TARGET_PAGE_MS else 'MISSED'}) = {t.p95 / b.p95:.1f}x raw SQL of the same rows "
        f"(p50 {b.p50:.2f} ms, p95 {b.p95:.2f} ms); {page.queries} SQL queries/request [{ingest.load()}]"
    )
    if page.profile:
        report.profiles.append("### console page, 20 requests (cProfile, by own time)\n" + page.profile)
    # Left open they would escalate in the server's ticker and be announced all through (1).
    Alarm.objects.filter(compound_id=page_id, status__in=OPEN_STATUSES).update(
        status=Status.CLOSED, closed_at=dt.datetime.now(dt.UTC)
    )

    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        tokens = Path(tmp) / "tokens.json"
        cameras = prepare_probe(probe_id, camera_ids, tokens)
        background = [
            d for d in ingest.sim_devices(config.background_devices, ["mqtt"], tokens) if d["compound_id"] != probe_id
        ]
        key = signing_key()
        cookie = session_cookie(operator, key)
        connection.close()
        phases: list[Phase] = []
        sse: dict[str, Any] = {}
        with web_server(dsn, config.server_workers, config.server_threads, key) as port:
            ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
            client = ctx.Process(
                target=sse_client, args=(port, f"/console/{probe_id}/stream", cookie, ready, stop, out)
            )
            client.start()
            try:
                if not ready.wait(30):
                    stop.set()
                    sse = out.get(timeout=10)
                    raise RuntimeError(f"the console stream did not open: {sse}")
                if not config.quick:  # every server thread's first request pays for imports and its connection
                    run_probes(ctx, dsn, port, cameras, config.probe_rate, 2)
                phases.append(
                    phase(
                        "no background load", ctx, dsn, port, probe_id, cameras, config.probe_rate, config.idle_seconds
                    )
                )
                with ingest.broker() as url, ingest.workers(dsn, url, config.mqtt_workers):
                    ingest.warm_up(dsn, url, background)
                    phases.append(load_phase(ctx, dsn, port, url, probe_id, cameras, background, config))
                time.sleep(1 if config.quick else 2)  # frames still on their way
            finally:
                stop.set()
                if not sse:
                    with contextlib.suppress(Exception):
                        sse = out.get(timeout=15)
                client.join(10)
    if sse.get("ended"):
        report.problems.append(f"console stream: {sse['ended']}")
    seen: dict[int, float] = {}
    for at, data in sse.get("alarms", []):
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            seen.setdefault(data["id"], at)
    for p in phases:
        p.settle(seen)
        report_phase(report, p, config)
    say(f"    frames received on the stream: {sse.get('frames', {})}")
    return report


def load_phase(
    ctx: Any,
    dsn: str,
    port: int,
    url: str,
    probe_id: int,
    cameras: list[dict[str, Any]],
    background: list[dict[str, Any]],
    config: Config,
) -> Phase:
    """The probes while the background flood runs: the flood empties the event tables, waits 1.5 s
    for its publishers, then publishes for load_seconds; the probes run inside that window."""
    box: list[ingest.Flood] = []
    errors: list[str] = []

    def flood() -> None:
        try:
            box.append(
                ingest.flood(
                    dsn,
                    url,
                    background,
                    config.background_rate,
                    config.load_seconds,
                    config.publishers,
                    drain_limit=120,
                )
            )
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    lead = 3.0 if not config.quick else 2.0  # publishers spawned and publishing
    time.sleep(lead)
    name = f"background MQTT offered {config.background_rate:,.0f} events/s"
    p = phase(name, ctx, dsn, port, probe_id, cameras, config.probe_rate, max(1.0, config.load_seconds - lead))
    thread.join(config.load_seconds * 4 + 300)
    if box:
        p.background = box[0]
    else:
        p.background_note = "; ".join(errors) or "the flood did not finish"
    return p


def report_phase(report: Report, p: Phase, config: Config) -> None:
    key = "idle" if p.background is None and not p.background_note else "load"
    n = p.ingest_ms
    p99, raw99 = pct(n, 99), pct(p.notify_ms, 99)
    report.figures[f"alarm_p99_ms_{key}"] = p99
    report.figures[f"alarm_p50_ms_{key}"] = pct(n, 50)
    report.figures[f"notify_p99_ms_{key}"] = raw99
    report.figures[f"alarms_{key}"] = len(n)
    met = "met" if p99 <= TARGET_P99_MS else "MISSED"
    report.say(
        f"(1) alarm → console, {p.name}: {len(p.pushes)} perimeter_intrusion pushes at {config.probe_rate:g}/s over "
        f"ISAPI (POST /ingest/isapi/, gunicorn {config.server_workers} workers × {config.server_threads} threads, "
        f"from a separate process) → `alarm` frame on one open SSE stream: received_at → frame received "
        f"p50 {pct(n, 50):.1f} ms, p95 {pct(n, 95):.1f} ms, p99 {p99:.1f} ms, max {max(n, default=float('nan')):.1f} ms "
        f"over {len(n)} alarms (target p99 ≤ {TARGET_P99_MS:.0f} ms: {met}) = {p99 / raw99:.1f}x the raw NOTIFY → "
        f"LISTEN round trip measured alongside (p50 {pct(p.notify_ms, 50):.2f} ms, p99 {raw99:.2f} ms, "
        f"{len(p.notify_ms)}/{p.notify_sent} received)"
    )
    report.say(
        f"    push sent → frame p50 {pct(p.push_ms, 50):.1f} ms, p99 {pct(p.push_ms, 99):.1f} ms; POST answered "
        f"(event and alarm committed) p50 {pct(p.post_ms, 50):.1f} ms, p99 {pct(p.post_ms, 99):.1f} ms; "
        f"failed pushes {p.failed_pushes}, alarms raised {len(p.alarms)}, frames missed {p.missed} [{ingest.load()}]"
    )
    if p.failed_pushes or p.missed or len(p.alarms) != len(p.pushes):
        report.problems.append(
            f"{p.name}: {p.failed_pushes} pushes failed, {len(p.alarms)} alarms for {len(p.pushes)} pushes, "
            f"{p.missed} never reached the console"
        )
    if p.background_note:
        report.problems.append(f"{p.name}: {p.background_note}")
    f = p.background
    if f is not None:
        report.figures["background_offered_per_s"] = config.background_rate
        report.figures["background_committed_per_s"] = f.committed_rate
        report.figures["background_steady_per_s"] = f.steady_rate
        report.say(
            f"    background: offered {config.background_rate:,.0f} events/s over MQTT for {config.load_seconds:.0f} s "
            f"({config.publishers} publishers → Mosquitto → {config.mqtt_workers} ingest workers): published "
            f"{f.published:,} in {f.publish_seconds:.1f} s ({f.published / max(f.publish_seconds, 1e-9):,.0f}/s), "
            f"committed {f.committed_in_window:,} by the window's end = "
            f"{f.committed_in_window / config.load_seconds:,.0f}/s achieved during the probes (second half "
            f"{f.steady_rate:,.0f}/s), all {f.distinct:,} after "
            + (f"{f.drain_seconds:.1f} s more" if f.drained else f"the wait, {f.backlog:,} still queued")
            + f" → {f.committed_rate:,.0f}/s overall; {'sustained' if f.sustained else 'NOT sustained'}"
        )
