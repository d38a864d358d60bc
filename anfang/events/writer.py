"""Batch writes of canonical events: dedup and insert in one transaction, COPY on PostgreSQL,
one multi-row statement set on SQLite (issue 5 §7, §9).

`write` talks to the database and raises when it cannot; `store` is what adapters' callers use:
it falls back to the spool when the database is unavailable, so an accepted event is never lost.
`BatchWriter` (writer thread with a bounded queue) is for streams such as MQTT, where many small
messages are gathered into one commit."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection, transaction
from django.utils import timezone

from . import spool
from .ingest import DUPLICATE, SPOOLED, STORED, Incoming, Outcome
from .models import EventKey

log = logging.getLogger(__name__)

COLUMNS = (
    "id",
    "compound_id",
    "device_id",
    "channel",
    "kind",
    "state",
    "severity",
    "occurred_at",
    "received_at",
    "source",
    "external_id",
    "vendor_code",
    "flags",
    "payload",
    "media",
)

# Called inside the write transaction with the events stored (not duplicates) and their ids, so
# that what follows from an event (an alarm, a passage, a check-in) commits with it or not at all.
StoredHook = Callable[[list[tuple[int, Incoming]]], object]
STORED_HOOKS: list[StoredHook] = []

UNAVAILABLE = (OperationalError, InterfaceError)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _row(event_id: int, e: Incoming) -> tuple:
    return (
        event_id,
        e.compound_id,
        e.device_id,
        e.channel,
        e.kind,
        e.state,
        e.severity,
        e.occurred_at,
        e.received_at,
        e.source,
        e.external_id,
        e.vendor_code,
        _json(e.flags),
        _json(e.payload),
        _json(e.media),
    )


def _fresh_ids_postgres(cursor, events: Sequence[Incoming]) -> tuple[list[int], set[int]]:
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('events_event', 'id')) FROM generate_series(1, %s)", [len(events)]
    )
    ids = [r[0] for r in cursor.fetchall()]
    # The staging table lives as long as the database session: create it once per connection
    # (remembered only once committed — a rolled-back transaction takes the table with it).
    raw = connection.connection
    if not getattr(raw, "_anfang_stage", False):
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ingest_stage (LIKE events_event INCLUDING DEFAULTS, key text) "
            "ON COMMIT DELETE ROWS"
        )
        transaction.on_commit(lambda: setattr(raw, "_anfang_stage", True))
    with cursor.copy(f"COPY ingest_stage ({', '.join(COLUMNS)}, key) FROM STDIN") as copy:
        for event_id, e in zip(ids, events, strict=True):
            copy.write_row((*_row(event_id, e), e.key))
    cols = ", ".join(COLUMNS)
    cursor.execute(
        f"""WITH fresh AS (
              INSERT INTO events_eventkey (device_id, key, event_id, received_at)
              SELECT device_id, key, id, received_at FROM ingest_stage
              ON CONFLICT (device_id, key) DO NOTHING RETURNING event_id)
            INSERT INTO events_event ({cols}) SELECT {cols} FROM ingest_stage s JOIN fresh f ON f.event_id = s.id
            RETURNING id"""
    )
    return ids, {r[0] for r in cursor.fetchall()}


def _fresh_ids_sqlite(cursor, events: Sequence[Incoming]) -> tuple[list[int], set[int]]:
    # The transaction began IMMEDIATE (settings), so it holds the write lock: max(id) is ours.
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM events_event")
    start = cursor.fetchone()[0] + 1
    ids = list(range(start, start + len(events)))
    fresh: set[int] = set()
    for event_id, e in zip(ids, events, strict=True):
        cursor.execute(
            "INSERT INTO events_eventkey (device_id, key, event_id, received_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (device_id, key) DO NOTHING RETURNING event_id",
            [e.device_id, e.key, event_id, connection.ops.adapt_datetimefield_value(e.received_at)],
        )
        if cursor.fetchone():
            fresh.add(event_id)
    rows = []
    for event_id, e in zip(ids, events, strict=True):
        if event_id in fresh:
            row = list(_row(event_id, e))
            row[7] = connection.ops.adapt_datetimefield_value(e.occurred_at)
            row[8] = connection.ops.adapt_datetimefield_value(e.received_at)
            rows.append(row)
    marks = ", ".join(["%s"] * len(COLUMNS))
    cursor.executemany(f"INSERT INTO events_event ({', '.join(COLUMNS)}) VALUES ({marks})", rows)
    return ids, fresh


def write(events: Sequence[Incoming]) -> list[Outcome]:
    """Dedup and insert `events` (normalised) in one transaction; one Outcome per event, in order.
    Raises DatabaseError when the database cannot take them."""
    if not events:
        return []
    # Duplicates inside the batch: the first occurrence goes to the database, the rest follow it.
    first: dict[tuple[int, str], int] = {}
    unique: list[Incoming] = []
    for i, e in enumerate(events):
        if first.setdefault((e.device_id, e.key), i) == i:
            unique.append(e)
    with transaction.atomic():
        with connection.cursor() as cursor:
            fresh_ids = _fresh_ids_postgres if connection.vendor == "postgresql" else _fresh_ids_sqlite
            ids, fresh = fresh_ids(cursor, unique)
        by_key: dict[tuple[int, str], Outcome] = {}
        stored: list[tuple[int, Incoming]] = []
        duplicates = []
        for event_id, e in zip(ids, unique, strict=True):
            if event_id in fresh:
                by_key[(e.device_id, e.key)] = Outcome(STORED, event_id)
                stored.append((event_id, e))
            else:
                duplicates.append(e)
        if duplicates:
            for key in EventKey.objects.filter(
                device_id__in={e.device_id for e in duplicates}, key__in={e.key for e in duplicates}
            ).values_list("device_id", "key", "event_id"):
                by_key[(key[0], key[1])] = Outcome(DUPLICATE, key[2])
        for hook in STORED_HOOKS:
            hook(stored)
    outcomes = []
    for i, e in enumerate(events):
        outcome = by_key.get((e.device_id, e.key), Outcome(DUPLICATE))
        if first[(e.device_id, e.key)] != i:
            outcome = Outcome(DUPLICATE, outcome.event_id)
        outcomes.append(outcome)
    HEALTH.add(events, outcomes)
    return outcomes


# SQLSTATEs of a transaction the database rolled back to resolve a conflict with another one:
# it is alive and the same write will go through when tried again.
RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure
RETRIES = 3
_outage = threading.Event()


def _retryable(exc: BaseException) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE


def store(events: Sequence[Incoming]) -> list[Outcome]:
    """Write, or spool when the database is unavailable. Raises OSError only when neither can take
    the events — the one case where the sender must be told to retry (503)."""
    for attempt in range(RETRIES + 1):
        try:
            outcomes = write(events)
        except UNAVAILABLE as exc:
            if _retryable(exc) and attempt < RETRIES:
                continue
            # Logged once per outage with its cause, not once per batch: during an outage every
            # batch fails the same way, and a traceback each would cost what replay needs.
            if not _outage.is_set():
                _outage.set()
                log.warning("database unavailable: spooling events until it is back", exc_info=True)
            _drop_broken_connection()
            spool.append("events", [e.as_record() for e in events])
            return [Outcome(SPOOLED) for _ in events]
        if _outage.is_set():
            _outage.clear()
            log.warning("database available again")
        return outcomes
    raise AssertionError("unreachable")


class GroupCommit:
    """Concurrent requests share one transaction (group commit): a request thread that finds no
    write in progress writes everything waiting, its own events and those of requests that arrived
    meanwhile; the others wait for its result. Under load one commit (one fsync, one COPY) serves
    many device pushes; alone, a request writes at once without waiting for anyone."""

    def __init__(self, max_batch: int = 5000) -> None:
        self.cond = threading.Condition()
        self.pending: list[list] = []  # [events, outcomes | None, error | None]
        self.writing = False
        self.max_batch = max_batch

    def store(self, events: Sequence[Incoming]) -> list[Outcome]:
        slot: list = [list(events), None, None]
        with self.cond:
            self.pending.append(slot)
            while slot[1] is None and slot[2] is None:
                if self.writing:
                    self.cond.wait()
                    continue
                self.writing = True
                batch: list[list] = []
                size = 0
                while self.pending and (not batch or size + len(self.pending[0][0]) <= self.max_batch):
                    taken = self.pending.pop(0)
                    batch.append(taken)
                    size += len(taken[0])
                self.cond.release()
                try:
                    outcomes: list[Outcome] | None = store([e for taken in batch for e in taken[0]])
                    error: BaseException | None = None
                except BaseException as exc:  # handed to every waiter of the batch
                    outcomes, error = None, exc
                finally:
                    self.cond.acquire()
                    self.writing = False
                start = 0
                for taken in batch:
                    if outcomes is not None:
                        taken[1] = outcomes[start : start + len(taken[0])]
                        start += len(taken[0])
                    else:
                        taken[2] = error
                self.cond.notify_all()
        if slot[2] is not None:
            raise slot[2]
        return slot[1]


GROUP = GroupCommit()


def _drop_broken_connection() -> None:
    with contextlib.suppress(DatabaseError):
        connection.close()


def replay_spool() -> int:
    """Write everything spooled back to the database; returns the number of batches."""

    def put(kind: str, records: list[dict]) -> None:
        if kind == "events":
            write([Incoming.from_record(r) for r in records])
        elif kind == "dead_letters":
            from .deadletters import restore_spooled

            restore_spooled(records)

    return spool.replay(put)


@dataclass
class _DeviceTally:
    last_event_at: dt.datetime | None = None
    skew: int | None = None
    events: int = 0
    duplicates: int = 0


@dataclass
class HealthTally:
    """Per-device counters gathered in memory and written every few seconds in one statement per
    device touched, instead of one update per event (DeviceHealth)."""

    interval: float = 2.0
    devices: dict[int, _DeviceTally] = field(default_factory=dict)
    last_flush: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, events: Sequence[Incoming], outcomes: Sequence[Outcome]) -> None:
        with self.lock:
            for e, o in zip(events, outcomes, strict=True):
                t = self.devices.setdefault(e.device_id, _DeviceTally())
                if o.status == DUPLICATE:
                    t.duplicates += 1
                    continue
                t.events += 1
                t.last_event_at = max(filter(None, [t.last_event_at, e.received_at]))
                assert e.received_at is not None
                t.skew = int((e.occurred_at - e.received_at).total_seconds())

    def due(self) -> bool:
        return bool(self.devices) and time.monotonic() - self.last_flush >= self.interval

    def flush(self) -> None:
        from anfang.devices.services import record_health

        with self.lock:
            tallies, self.devices = self.devices, {}
            self.last_flush = time.monotonic()
        if tallies:
            record_health(
                {d: (t.last_event_at, t.skew, t.events, t.duplicates) for d, t in tallies.items()}, timezone.now()
            )


HEALTH = HealthTally()


class BatchWriter:
    """Gathers events from many small messages into batches (up to `batch_size`, or whatever came
    within `max_delay` seconds) written by one thread. The queue is bounded: `submit` blocks when
    the writer falls behind (back-pressure on the broker, which then holds the messages). Each
    submission's callback runs after its batch is durable (committed or spooled)."""

    def __init__(self, batch_size: int = 2000, max_delay: float = 0.05, max_pending: int = 20000) -> None:
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.queue: queue.Queue[tuple[list[Incoming], Callable[[list[Outcome]], None]] | None] = queue.Queue(
            maxsize=max(1, max_pending // 10)
        )
        self.thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self.written = 0

    def start(self) -> BatchWriter:
        self.thread.start()
        return self

    def submit(self, events: list[Incoming], done: Callable[[list[Outcome]], None]) -> None:
        self.queue.put((events, done))

    def close(self, timeout: float = 30) -> None:
        self.queue.put(None)
        self.thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self.queue.get()
            if item is None:
                break
            pending = [item]
            size = len(item[0])
            deadline = time.monotonic() + self.max_delay
            while size < self.batch_size:
                try:
                    nxt = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                pending.append(nxt)
                size += len(nxt[0])
            self._write(pending)
        close_old_connections()

    def _write(self, pending: list[tuple[list[Incoming], Callable[[list[Outcome]], None]]]) -> None:
        events = [e for batch, _ in pending for e in batch]
        while True:
            try:
                outcomes = store(events)
                break
            except OSError:
                log.exception("neither database nor spool can take %d events; retrying", len(events))
                time.sleep(1)
        self.written += len(events)
        start = 0
        for batch, done in pending:
            done(outcomes[start : start + len(batch)])
            start += len(batch)
        if HEALTH.due():
            try:
                HEALTH.flush()
            except UNAVAILABLE:
                _drop_broken_connection()
