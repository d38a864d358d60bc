"""Fault tests of MQTT ingest with real processes: `manage.py ingest_mqtt --workers 2` against the
real Mosquitto and PostgreSQL.

1. A flood of QoS 1 messages while the workers lose PostgreSQL and get it back mid-flood: every
   published event ends in the database exactly once (count and external ids compared).
   PostgreSQL is shared with other processes on this machine, so it is not stopped: the workers
   reach it through a TCP proxy in this test, which is cut (every open connection closed, new
   ones refused) and restored — to the workers that is the server going away and coming back.
   The flood lasts ANFANG_MQTT_FAULT_SECONDS (default 6 s; the acceptance run uses 30) at
   ANFANG_MQTT_FAULT_RATE messages per second (default 1000); ANFANG_MQTT_FAULT_LOG=<file>
   keeps the workers' log.
2. A worker killed (SIGKILL) after receiving a message but before committing it: the message was
   not acknowledged, so the broker delivers it again to the worker that takes the slot over, and
   it is stored exactly once."""

from __future__ import annotations

import ast
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from anfang.devices import services as device_services
from anfang.events.adapters import mqtt as adapter
from anfang.events.models import Event
from tests import factories as f
from tests.conftest import require_service

from .test_mqtt import Publisher, broker_answers, event_body, topic_root, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
FLOOD_SECONDS = float(os.environ.get("ANFANG_MQTT_FAULT_SECONDS", "6"))
FLOOD_RATE = int(os.environ.get("ANFANG_MQTT_FAULT_RATE", "1000"))


class CuttableProxy:
    """A TCP proxy to PostgreSQL that can be cut (all connections closed, new ones dropped at
    once) and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.closed = False
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
                self.connections += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self.lock:
            self.sockets.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()

    def cut(self) -> None:
        self.open = False
        with self.lock:
            victims = list(self.sockets)
        for s in victims:
            self._drop(s)

    def restore(self) -> None:
        self.open = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


class WorkerProcess:
    """`manage.py ingest_mqtt` in a subprocess, its log lines collected."""

    def __init__(self, *args: str, database_url: str, spool_dir: Path) -> None:
        env = {
            **os.environ,
            "ANFANG_DATABASE_URL": database_url,
            "ANFANG_SPOOL_DIR": str(spool_dir),
            "ANFANG_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "ingest_mqtt", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def matching(self, pattern: str) -> list[re.Match[str]]:
        found = (re.search(pattern, line) for line in list(self.lines))
        return [m for m in found if m]

    def stop(self, timeout: float = 60) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        time.sleep(0.2)  # the reader thread takes the last lines

    def final_stats(self) -> list[dict[str, int]]:
        return [ast.literal_eval(m.group(1)) for m in self.matching(r"stopped \(\d+ left unacknowledged\): (\{.*\})")]


@pytest.fixture
def services_up():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANFANG_DATABASE_URL=postgres://…)")
    require_service("mosquitto", broker_answers(), "MQTT broker at ANFANG_MQTT_URL")


def database_url(port: int | None = None) -> str:
    s = connection.settings_dict
    host = "127.0.0.1" if port else (s["HOST"] or "127.0.0.1")
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{host}:{port or s['PORT'] or 5432}/{s['NAME']}"


def worker_args(root: str, *extra: str) -> list[str]:
    return [
        "--topic-root",
        root,
        "--group",
        f"g-{root}",
        "--client-prefix",
        f"{root}-w",
        "--session-expiry",
        "120",
        "--leave",
        *extra,
    ]


def devices_with_tokens(n: int) -> list[tuple[Any, str]]:
    out = []
    for _ in range(n):
        device = f.DeviceFactory()
        out.append((device, device_services.issue_device_token(None, device)))
    return out


def test_flood_while_postgresql_goes_away_and_comes_back_loses_nothing_and_stores_nothing_twice(services_up):
    senders = devices_with_tokens(4)
    root = topic_root()
    s = connection.settings_dict
    proxy = CuttableProxy((s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432)))
    workers = WorkerProcess(
        "--workers",
        "2",
        *worker_args(root),
        "-v",
        "1",
        database_url=database_url(proxy.port),
        spool_dir=settings.ANFANG_SPOOL_DIR,
    )
    publisher = Publisher()
    try:
        assert wait_for(lambda: len(workers.matching(r"connected as")) >= 2, timeout=20), workers.lines
        time.sleep(0.5)  # both subscriptions in place
        total = int(FLOOD_SECONDS * FLOOD_RATE)
        cut_at, restore_at = total // 3, 2 * total // 3
        started = time.monotonic()
        cut_time = restore_time = 0.0
        for i in range(total):
            if i == cut_at:
                proxy.cut()
                cut_time = time.monotonic()
            elif i == restore_at:
                proxy.restore()
                restore_time = time.monotonic()
            device, token = senders[i % len(senders)]
            publisher.publish(adapter.topic(device.compound_id, device.pk, root), event_body(token, n=i))
            lag = started + (i + 1) / FLOOD_RATE - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        flood_end = time.monotonic()
        flood_time = flood_end - started
        publisher.close(timeout=60)  # every message accepted by the broker (PUBACK)
        published = sum(1 for info in publisher.infos if info.is_published())
        assert published == total
        ours = Event.objects.filter(device_id__in=[d.pk for d, _ in senders])
        done = wait_for(lambda: ours.count() >= total, timeout=90, every=0.5)
        converged = time.monotonic() - flood_end
        assert done, f"{ours.count()} of {total} stored; workers: {workers.lines[-20:]}"
    finally:
        workers.stop()
        proxy.close()
        if os.environ.get("ANFANG_MQTT_FAULT_LOG"):
            Path(os.environ["ANFANG_MQTT_FAULT_LOG"]).write_text("\n".join(workers.lines))
    stored_ids = list(ours.values_list("external_id", flat=True))
    assert len(stored_ids) == total  # exactly once: no event stored twice
    assert set(stored_ids) == {f"m-{i}" for i in range(total)}
    stats = workers.final_stats()
    spooled = sum(st.get("spooled", 0) for st in stats)
    assert spooled > 0, f"the outage was not felt: {stats}"
    assert not list(Path(settings.ANFANG_SPOOL_DIR).glob("*.jsonl")), "spool not fully replayed"
    print(
        f"\nMQTT fault test: {total} events published in {flood_time:.1f} s ({total / flood_time:.0f}/s), "
        f"PostgreSQL cut for {restore_time - cut_time:.1f} s; {spooled} spooled and replayed; "
        f"all {total} in the database exactly once {converged:.1f} s after the flood ended; "
        f"worker stats {stats}; {proxy.connections} database connections through the proxy"
    )


def test_a_worker_killed_before_commit_gets_its_message_redelivered_to_the_next_worker_of_the_slot(
    services_up,
):
    [(device, token)] = devices_with_tokens(1)
    root = topic_root()
    # Batches wait up to 3 s to fill: the window in which a received message is not committed.
    workers = WorkerProcess(
        "--workers",
        "2",
        *worker_args(root, "--max-delay", "3", "--batch-size", "100000"),
        "-v",
        "2",
        database_url=database_url(),
        spool_dir=settings.ANFANG_SPOOL_DIR,
    )
    publisher = Publisher()
    try:
        assert wait_for(lambda: len(workers.matching(r"connected as")) >= 2, timeout=20), workers.lines
        time.sleep(0.5)
        publisher.publish(adapter.topic(device.compound_id, device.pk, root), event_body(token, n=1))
        publisher.close()
        received = wait_for(lambda: workers.matching(r"slot (\d+) pid (\d+) received mid"), timeout=10)
        assert received, workers.lines
        slot, pid = int(received[0].group(1)), int(received[0].group(2))
        assert not Event.objects.filter(device=device).exists()  # received, not yet committed
        os.kill(pid, signal.SIGKILL)
        row = wait_for(lambda: Event.objects.filter(device=device).first(), timeout=30, every=0.2)
        assert row is not None, workers.lines
        assert row.external_id == "m-1"
        again = workers.matching(r"slot (\d+) pid (\d+) received mid")
        assert len(again) == 2, workers.lines
        assert int(again[1].group(2)) != pid  # another process took it
        assert workers.matching(rf"slot {slot} pid \d+ connected as .* \(session resumed\)")
        time.sleep(0.5)
        assert Event.objects.filter(device=device).count() == 1
    finally:
        workers.stop()
    print(
        f"\nMQTT kill test: slot {slot} (pid {pid}) killed holding the message; redelivered to pid "
        f"{again[1].group(2)} (slot {again[1].group(1)}), stored once"
    )
