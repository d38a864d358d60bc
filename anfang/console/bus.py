"""Live notifications for the console (DESIGN.md: notify — PostgreSQL LISTEN/NOTIFY → SSE).

`publish(topic, message)` is called inside the transaction that made the change; the message goes
out only if it commits. On PostgreSQL it is a NOTIFY, so every process (ingest workers, web
servers) hears it; one listener thread per web process receives them and wakes the SSE streams
of that process. On SQLite (the single-process demo) messages are delivered in-process on commit.

Messages are hints, not the record: a console that reconnects re-reads the state it shows (the
open alarm queue), so nothing raised while it was away is missed."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection, transaction

log = logging.getLogger(__name__)

CHANNEL = "anfang_console"


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    topic: str
    data: dict[str, Any]


class Hub:
    """In-process fan-out: a ring of recent messages and a condition streams wait on."""

    def __init__(self, keep: int = 5000) -> None:
        self.cond = threading.Condition()
        self.recent: deque[Message] = deque(maxlen=keep)
        self.seq = 0

    def put(self, topic: str, data: dict[str, Any]) -> None:
        with self.cond:
            self.seq += 1
            self.recent.append(Message(self.seq, topic, data))
            self.cond.notify_all()

    def since(self, seq: int) -> list[Message]:
        return [m for m in self.recent if m.seq > seq]

    def wait(self, seq: int, timeout: float) -> list[Message]:
        """Messages after `seq`, waiting up to `timeout` seconds for one to arrive."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                fresh = self.since(seq)
                remaining = deadline - time.monotonic()
                if fresh or remaining <= 0:
                    return fresh
                self.cond.wait(remaining)


HUB = Hub()


def publish(topic: str, data: dict[str, Any]) -> None:
    """Send `data` on `topic` once the current transaction commits (at once outside one)."""
    if connection.vendor == "postgresql":
        body = orjson.dumps({"topic": topic, "data": data}).decode()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, body])
    else:
        transaction.on_commit(lambda: HUB.put(topic, data))


_listener: threading.Thread | None = None
_listener_lock = threading.Lock()
_stop = threading.Event()


def ensure_listener() -> None:
    """Start this process's LISTEN thread (PostgreSQL only; idempotent)."""
    global _listener
    if connection.vendor != "postgresql":
        return
    with _listener_lock:
        if _listener is None or not _listener.is_alive():
            _stop.clear()
            _listener = threading.Thread(target=_listen_forever, name="console-listener", daemon=True)
            _listener.start()


def stop_listener(timeout: float = 3.0) -> None:
    """Stop the LISTEN thread and close its connection (tests, before dropping their database)."""
    global _listener
    _stop.set()
    if _listener is not None:
        _listener.join(timeout)
        _listener = None


def _listen_forever() -> None:
    import psycopg
    from django.db import connections

    params = connections["default"].get_connection_params()
    while not _stop.is_set():
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                HUB.put("bus", {"state": "connected"})
                while not _stop.is_set():
                    for note in conn.notifies(timeout=0.5):
                        try:
                            message = orjson.loads(note.payload)
                            HUB.put(message["topic"], message["data"])
                        except (orjson.JSONDecodeError, KeyError, TypeError):
                            log.warning("ignoring malformed console notification %r", note.payload[:200])
        except Exception:  # reconnect on any failure: the console must come back by itself
            log.warning("console listener lost its connection; reconnecting", exc_info=True)
            HUB.put("bus", {"state": "reconnecting"})
            _stop.wait(1)


def stream(after: int, *, timeout: float = 15.0) -> Iterator[list[Message]]:
    """Batches of messages after `after` (empty batches every `timeout` s, for keep-alives)."""
    ensure_listener()
    seq = after if after <= HUB.seq else 0
    while True:
        batch = HUB.wait(seq, timeout)
        if batch:
            seq = batch[-1].seq
        yield batch
