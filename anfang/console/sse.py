"""Server-Sent Events for the live console: what one compound's console is told, framed for
`text/event-stream`, driven from the console bus under WSGI (a thread per connection, as
`runserver` and gunicorn's threads give) and under ASGI (an async generator woken by one thread
per process, so a thousand open consoles do not hold a thousand threads).

Positions: a message's SSE id is "<boot>-<seq>", where `seq` numbers the bus messages of this
process and `boot` names the process. A browser that reconnects sends the last id it saw
(Last-Event-ID); if it is this process's and the bus still holds everything after it, the missed
messages are replayed, otherwise the stream opens with `resumed: false` and the page re-reads its
queue, events and device board. The page re-reads them after every reconnect in any case:
messages are hints, the database is the record.

Escalation ticker (issue 6 §2: unacknowledged alarms escalate after a configured time): every
stream loop calls `tick()`, which runs `alarms.services.escalate_due` at most once per
TICK_SECONDS per process. escalate_due is safe to run from several processes at once (each level
is a conditional UPDATE), so every web process with an open console ticks. Where no console is
open, `manage.py alarms_tick` runs the same ticker on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import orjson
from django.db import connection

from . import bus

log = logging.getLogger(__name__)

BOOT = secrets.token_hex(4)
RETRY_MS = 2000  # how soon a browser reconnects after losing the stream
KEEPALIVE_SECONDS = 15.0  # a `ping` event this often: proxies keep the connection, the page knows it is alive
TICK_SECONDS = 5.0  # escalation ticker period (and the longest the stream loop sleeps)
MAX_STREAM_SECONDS = 30 * 60  # then the browser reconnects: scope re-checked, threads recycled


# --- positions --------------------------------------------------------------------------------


def position_id(seq: int) -> str:
    return f"{BOOT}-{seq}"


def start_position(token: str | None) -> tuple[int, bool]:
    """Where a stream starts: (seq, resumed). Resumed when `token` is a position of this process
    and the bus still holds every message after it; otherwise from now, and the page re-reads."""
    boot, _sep, seq_text = (token or "").strip().partition("-")
    current = bus.HUB.seq
    if boot != BOOT or not seq_text.isdigit():
        return current, False
    seq = int(seq_text)
    if seq > current:
        return current, False
    recent = bus.HUB.recent
    oldest = recent[0].seq if recent else current + 1
    if seq < oldest - 1:  # messages after it have left the ring: a gap
        return current, False
    return seq, True


# --- frames -----------------------------------------------------------------------------------


def frame(event: str, data: Any, seq: int | None = None) -> str:
    lines = []
    if seq is not None:
        lines.append(f"id: {position_id(seq)}")
    lines.append(f"event: {event}")
    lines.append("data: " + orjson.dumps(data).decode())
    return "\n".join(lines) + "\n\n"


def opening(seq: int, resumed: bool) -> str:
    return f"retry: {RETRY_MS}\n" + frame("hello", {"resumed": resumed, "position": position_id(seq)}, seq)


def for_compound(compound_id: int, batch: Iterable[bus.Message]) -> str:
    """The frames of `batch` this compound's console needs (everything else is skipped)."""
    out = []
    events_hint: bus.Message | None = None
    for m in batch:
        if m.topic == "alarm" and m.data.get("compound") == compound_id:
            out.append(frame("alarm", m.data, m.seq))
        elif m.topic == "events":
            compounds = m.data.get("compounds")
            if compounds == "all" or (isinstance(compounds, list) and compound_id in compounds):
                events_hint = m  # one hint per batch is enough: the page re-reads the newest events
        elif m.topic == "bus" and m.data.get("state") == "connected":
            # The listener (re)connected: NOTIFYs sent while it was away are lost to this process.
            out.append(frame("resync", {"reason": "listener"}, m.seq))
    if events_hint is not None:
        out.append(frame("events", {"last_id": events_hint.data.get("last_id")}, events_hint.seq))
    return "".join(out)


def ping(seq: int) -> str:
    return frame("ping", {"at": int(time.time())}, seq)


# --- escalation ticker ------------------------------------------------------------------------

_tick_lock = threading.Lock()
_last_tick = 0.0


def tick(force: bool = False) -> int:
    """Run escalate_due if this process has not in the last TICK_SECONDS; returns how many
    alarms went up a level. Never raises: a failed tick must not end a console's stream."""
    global _last_tick
    if not force and time.monotonic() - _last_tick < TICK_SECONDS:
        return 0
    if not _tick_lock.acquire(blocking=False):
        return 0
    try:
        _last_tick = time.monotonic()
        from anfang.alarms.services import escalate_due

        return len(escalate_due())
    except Exception:
        log.warning("escalation tick failed", exc_info=True)
        return 0
    finally:
        _tick_lock.release()
        _release_connection()


def _release_connection() -> None:
    """A stream lives for minutes; it should not hold a database connection between ticks."""
    if not connection.in_atomic_block:
        connection.close()


# --- drivers ----------------------------------------------------------------------------------


_open_lock = threading.Lock()
_open_streams = 0


def open_streams() -> int:
    """Consoles connected to this process now (both drivers)."""
    return _open_streams


def _count(delta: int) -> None:
    global _open_streams
    with _open_lock:
        _open_streams += delta


def sync_stream(compound_id: int, seq: int, resumed: bool, *, max_seconds: float | None = None) -> Iterator[bytes]:
    """WSGI: blocks this thread on the bus between messages. A closed browser is noticed at the
    next write (a ping at the latest), which ends this generator."""
    max_seconds = MAX_STREAM_SECONDS if max_seconds is None else max_seconds
    _release_connection()
    _count(1)
    try:
        started = last_sent = time.monotonic()
        yield opening(seq, resumed).encode()
        for batch in bus.stream(seq, timeout=min(TICK_SECONDS, KEEPALIVE_SECONDS)):
            if batch:
                seq = batch[-1].seq
            tick()
            out = for_compound(compound_id, batch)
            now = time.monotonic()
            if not out and now - last_sent >= KEEPALIVE_SECONDS:
                out = ping(seq)
            if out:
                last_sent = now
                yield out.encode()
            if now - started >= max_seconds:
                return
    finally:
        _count(-1)
        _release_connection()


class Waker:
    """One thread per process waits on the bus and wakes every async stream's event."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.thread: threading.Thread | None = None

    def register(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        with self.lock:
            self.waiters.add((loop, event))
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="console-sse-waker", daemon=True)
                self.thread.start()

    def unregister(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        with self.lock:
            self.waiters.discard((loop, event))

    def _run(self) -> None:
        seq = bus.HUB.seq
        while True:
            batch = bus.HUB.wait(seq, 30)
            if batch:
                seq = batch[-1].seq
            with self.lock:
                waiters = list(self.waiters)
            for loop, event in waiters:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(event.set)


WAKER = Waker()


async def async_stream(
    compound_id: int, seq: int, resumed: bool, *, max_seconds: float | None = None
) -> AsyncIterator[bytes]:
    """ASGI: waits on an asyncio.Event set by the Waker; database work (the ticker) in a thread."""
    from asgiref.sync import sync_to_async

    max_seconds = MAX_STREAM_SECONDS if max_seconds is None else max_seconds
    bus.ensure_listener()
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    WAKER.register(loop, wake)
    _count(1)
    started = last_sent = time.monotonic()
    try:
        yield opening(seq, resumed).encode()
        while True:
            wake.clear()
            batch = bus.HUB.wait(seq, 0)  # non-blocking read under the hub's lock
            if not batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=min(TICK_SECONDS, KEEPALIVE_SECONDS))
                batch = bus.HUB.wait(seq, 0)
            if batch:
                seq = batch[-1].seq
            await sync_to_async(tick, thread_sensitive=True)()
            out = for_compound(compound_id, batch)
            now = time.monotonic()
            if not out and now - last_sent >= KEEPALIVE_SECONDS:
                out = ping(seq)
            if out:
                last_sent = now
                yield out.encode()
            if now - started >= max_seconds:
                return
    finally:
        _count(-1)
        WAKER.unregister(loop, wake)
