"""MQTT ingest workers (issue 5 §4): subscribe to the shared subscription, turn each message into
an event (or a dead letter), write events in batches and acknowledge each message only once the
batch holding it is durable — committed, or spooled when the database is down.

Delivery guarantees rest on three things working together:
- QoS 1 with manual acknowledgement (paho `manual_ack=True`): the broker keeps a message until
  this worker's PUBACK, which is sent from the batch writer's callback, never on receipt.
- A persistent session (MQTT 5, clean start off, a session expiry) under a stable client id per
  worker slot: when a worker dies with messages unacknowledged, the broker keeps them for the
  session and delivers them again to the process that takes the slot over (the supervisor
  restarts it under the same id). Mosquitto does not hand a dead member's in-flight messages to
  the other members of the share group; it keeps them for the session.
- Dedup by (device, external_id) or content hash: a redelivered message already committed is
  counted as a duplicate, never stored twice.

Messages that cannot be handled because the database is unreachable (a token never seen before,
a dead letter whose rate limiter needs the database) are held unacknowledged and retried; the
broker bounds how many (Receive Maximum). A graceful stop finishes what was received and keeps the
session (a restarted slot resumes it); `leave` retires the slot for good.

`supervise(n)` runs n worker processes (fork), restarting any that dies: parsing and validating
JSON is CPU work under the GIL, so one process per core scales where threads would not, and a
crashed process only costs a redelivery of its own unacknowledged messages."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connections
from django.utils import timezone

from . import choices as c
from . import deadletters, spool
from .adapters import jsonevent
from .adapters import mqtt as adapter
from .adapters.base import Payload
from .ingest import Outcome, Rejected, normalise
from .services import refuse
from .writer import UNAVAILABLE, BatchWriter, _drop_broken_connection, replay_spool

log = logging.getLogger(__name__)


@dataclass
class WorkerConfig:
    url: str = field(default_factory=lambda: settings.ANFANG_MQTT_URL)
    client_prefix: str = field(default_factory=lambda: f"anfang-ingest-{socket.gethostname()}")
    group: str = adapter.SHARE_GROUP
    topic_root: str = adapter.TOPIC_ROOT
    batch_size: int = 2000
    max_delay: float = 0.05
    # Unacknowledged messages the broker may have out to one worker (MQTT 5 Receive Maximum). The
    # most the protocol allows: a broker queues few messages per client beyond this window
    # (Mosquitto: max_queued_messages, default 1000) and drops the rest when workers fall behind.
    receive_maximum: int = 65535
    session_expiry: int = 3600  # seconds the broker keeps a dead worker's session and messages
    keepalive: int = 30
    replay_every: float = 5.0
    stats_every: float = 10.0
    leave: bool = False  # on a graceful stop, leave the share group and end the session

    def broker(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
            raise ValueError(f"ANFANG_MQTT_URL must look like mqtt://host:1883, not {self.url!r}")
        return parts.hostname, parts.port or 1883


@dataclass(slots=True)
class _Held:
    message: Any
    generation: int
    received_at: dt.datetime


class IngestWorker:
    """One MQTT connection, one batch writer, one database connection per thread."""

    def __init__(self, config: WorkerConfig, slot: int = 0, *, parent: int | None = None) -> None:
        import paho.mqtt.client as paho

        self.config = config
        self.slot = slot
        self.parent = parent  # a supervised worker stops when its supervisor is gone
        self.client_id = f"{config.client_prefix}-{slot}"
        self.subscription = adapter.subscription(config.topic_root, config.group)
        self.writer = BatchWriter(
            batch_size=config.batch_size, max_delay=config.max_delay, max_pending=config.receive_maximum * 10
        )
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.tokens = adapter.TokenCheck()
        self.held: deque[_Held] = deque()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.stats: Counter[str] = Counter()
        self.generation = 0  # connection count: an ack is only valid on the connection that received
        self.last_message = time.monotonic()
        self.exit_code = 0
        self.unfinished = 0  # received, not yet acknowledged
        self.closing = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ MQTT callbacks

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.error("slot %d: broker refused the connection: %s", self.slot, reason_code)
            return
        with self._lock:
            self.generation += 1
        client.subscribe(self.subscription, qos=1)
        log.info(
            "slot %d pid %d connected as %s (session %s), subscribed to %s",
            self.slot,
            os.getpid(),
            self.client_id,
            "resumed" if flags.session_present else "new",
            self.subscription,
        )
        self.connected.set()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("slot %d: broker refused the subscription %s: %s", self.slot, self.subscription, reason_codes)
            return
        self.subscribed.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        with self._lock:
            self.generation += 1  # from here on, acks of what was received before are void
        self.connected.clear()
        self.subscribed.clear()
        if not self.stopping.is_set():
            log.warning("slot %d: disconnected from the broker (%s); reconnecting", self.slot, reason_code)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.last_message = time.monotonic()
        with self._lock:
            self.unfinished += 1
        if self.closing:
            return  # the writer is closed: the broker delivers it again to the next start
        held = _Held(message, self.generation, timezone.now())
        log.debug("slot %d pid %d received mid %d on %s", self.slot, os.getpid(), message.mid, message.topic)
        self.stats["received"] += 1
        self.handle(held)

    # ------------------------------------------------------------------ one message

    def handle(self, held: _Held) -> None:
        """Event to the writer (acked when durable), or dead letter (acked once kept); held back
        unacknowledged when the database is needed and unreachable. Never raises."""
        try:
            self._handle(held)
        except (OSError, *UNAVAILABLE):
            _drop_broken_connection()
            self.held.append(held)
        except Exception:
            log.exception("slot %d: could not handle a message on %s", self.slot, held.message.topic)
            self._keep_failed(held)

    def _payload(self, held: _Held) -> Payload:
        message = held.message
        return Payload(
            body=bytes(message.payload),
            content_type="application/json",
            received_at=held.received_at,
            source=c.Source.MQTT,
            headers={"mqtt-qos": str(message.qos), "mqtt-retain": str(int(message.retain))},
            endpoint=message.topic[:255],
        )

    def _handle(self, held: _Held) -> None:
        payload = self._payload(held)
        try:
            doc = jsonevent.decode(payload.body)
        except Rejected as malformed:
            # Too broken to read the token from: the sender is unknown, so rate-limited.
            deadletters.record(self._redacted(payload), malformed, limited=True)
            self._dead_lettered(held)
            return
        try:
            device = adapter.authenticate(payload, doc, self.tokens)
        except adapter.Refused as refused:
            refuse(self._redacted(payload), str(refused))
            self.stats["refused"] += 1
            self._ack(held)
            return
        try:
            event = normalise(adapter.ADAPTER.event(doc, device, payload), payload.received_at)
        except Rejected as rejected:
            deadletters.record(self._redacted(payload), rejected, device=device)
            self._dead_lettered(held)
            return
        self.writer.submit([event], self._when_durable(held))

    @staticmethod
    def _redacted(payload: Payload) -> Payload:
        payload.body = adapter.redact(payload.body)
        return payload

    def _keep_failed(self, held: _Held) -> None:
        payload = self._redacted(self._payload(held))
        rejected = Rejected(c.DeadLetterReason.INVALID, "处理失败 / processing failed (see the worker log)")
        try:
            deadletters.record(payload, rejected, limited=True)
        except Exception:
            log.exception("slot %d: message left unacknowledged (the broker keeps it)", self.slot)
            return
        self._dead_lettered(held)

    def _dead_lettered(self, held: _Held) -> None:
        self.stats["dead_letters"] += 1
        self._ack(held)

    def _when_durable(self, held: _Held) -> Callable[[list[Outcome]], None]:
        def done(outcomes: list[Outcome]) -> None:
            for outcome in outcomes:
                self.stats[outcome.status] += 1
            self._ack(held)

        return done

    def _ack(self, held: _Held) -> None:
        with self._lock:
            self.unfinished -= 1
        if held.message.qos == 0:
            return
        # After a reconnect the broker resends what was unacknowledged, possibly reusing packet
        # ids: acking an id from an earlier connection could ack a different message.
        with self._lock:
            if held.generation != self.generation:
                self.stats["stale_acks_skipped"] += 1
                return
            self.client.ack(held.message.mid, held.message.qos)
        self.stats["acked"] += 1

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> IngestWorker:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.writer.start()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry
        props.ReceiveMaximum = min(65535, self.config.receive_maximum)
        host, port = self.config.broker()
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.connect_async(host, port, keepalive=self.config.keepalive, clean_start=False, properties=props)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> int:
        """Start, then keep house until `stop()`: retry held messages, replay the spool, watch the
        writer thread. Returns the exit code."""
        self.start()
        try:
            self._keep_house()
        except BaseException:
            self.exit_code = 1  # not a clean stop: keep the session, whatever `leave` says
            log.exception("slot %d: stopping after an error", self.slot)
        finally:
            self._shut_down()
        return self.exit_code

    def _keep_house(self) -> None:
        next_replay = next_stats = time.monotonic()
        while not self.stopping.wait(0.5):
            if not self.writer.thread.is_alive():
                log.critical(
                    "slot %d: the batch writer died; exiting so unacknowledged messages are redelivered", self.slot
                )
                self.exit_code = 1
                return
            if self.parent is not None and os.getppid() != self.parent:
                log.warning("slot %d: supervisor gone; stopping", self.slot)
                return
            self.retry_held()
            now = time.monotonic()
            if now >= next_replay:
                next_replay = now + self.config.replay_every
                self.replay()
            if now >= next_stats:
                next_stats = now + self.config.stats_every
                log.info("slot %d: %s", self.slot, dict(self.stats))

    def retry_held(self) -> None:
        for _ in range(len(self.held)):
            held = self.held.popleft()
            if held.generation != self.generation:
                continue  # the broker has resent it on the new connection
            self.handle(held)

    def replay(self) -> None:
        """Write what was spooled while the database was down, once it is back."""
        if not spool.pending():
            return
        try:
            batches = replay_spool()
        except UNAVAILABLE:
            _drop_broken_connection()
            return
        except Exception:  # a bad spool line must not stop the intake; it stays for the next try
            log.exception("slot %d: spool replay failed", self.slot)
            return
        if batches:
            log.info("slot %d: replayed %d spooled batches", self.slot, batches)

    def _shut_down(self) -> None:
        """Finish what was received, then disconnect. The session (and the subscription) stay with
        the broker unless `leave`: messages published while this slot is down wait for its
        return, which a rolling restart wants; a slot retired for good leaves, once everything it
        received is durable, so no message waits for it in vain."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.stopping.set()
        leave = self.config.leave and self.exit_code == 0 and self.connected.is_set()
        if leave:
            self.client.unsubscribe(self.subscription)
            deadline = time.monotonic() + 10
            while time.monotonic() - self.last_message < 0.5 and time.monotonic() < deadline:
                time.sleep(0.1)  # drain what the broker had already sent
        self.closing = True  # from here on a message is left unacknowledged for the next start
        if self.writer.thread.is_alive():
            self.retry_held()
            self.writer.close()
        time.sleep(0.2)  # let the loop thread send the last acknowledgements
        if leave and self.unfinished == 0:
            props = Properties(PacketTypes.DISCONNECT)
            props.SessionExpiryInterval = 0  # nothing left for this session: end it
            self.client.disconnect(properties=props)
        else:
            self.client.disconnect()  # the broker keeps the session and what is unacknowledged
        self.client.loop_stop()
        connections.close_all()
        log.info("slot %d: stopped (%d left unacknowledged): %s", self.slot, self.unfinished, dict(self.stats))


# ---------------------------------------------------------------------- processes


def _child(slot: int, config: WorkerConfig, parent: int) -> None:
    worker = IngestWorker(config, slot, parent=parent)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    os._exit(worker.run())


def run_one(config: WorkerConfig, slot: int = 0) -> int:
    """One worker in this process (stops on SIGTERM / SIGINT)."""
    worker = IngestWorker(config, slot)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    return worker.run()


def supervise(workers: int, config: WorkerConfig, *, first_slot: int = 0) -> int:
    """Run `workers` worker processes (slots first_slot…), restarting one that dies under the same
    slot, hence the same client id and session. Stops them all on SIGTERM / SIGINT."""
    if workers == 1:
        return run_one(config, first_slot)
    context = multiprocessing.get_context("fork")  # children inherit the configured Django
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    connections.close_all()  # never share a database connection across fork
    procs: dict[int, Any] = {}
    started: dict[int, float] = {}
    backoff: dict[int, float] = {}
    restart_at: dict[int, float] = {}

    def start(slot: int) -> None:
        proc = context.Process(target=_child, args=(slot, config, os.getpid()), name=f"ingest-{slot}")
        proc.start()
        procs[slot], started[slot] = proc, time.monotonic()

    for slot in range(first_slot, first_slot + workers):
        start(slot)
    while not stopping.wait(0.5):
        now = time.monotonic()
        for slot, proc in list(procs.items()):
            if proc.is_alive():
                continue
            if slot not in restart_at:
                quick = now - started[slot] < 10
                backoff[slot] = min(30.0, backoff.get(slot, 0.5) * 2) if quick else 1.0
                restart_at[slot] = now + backoff[slot]
                log.warning("ingest slot %d exited (%s); restarting in %.0f s", slot, proc.exitcode, backoff[slot])
            elif now >= restart_at[slot]:
                del restart_at[slot]
                start(slot)
    for proc in procs.values():
        if proc.is_alive():
            proc.terminate()
    for proc in procs.values():
        proc.join(60)
        if proc.is_alive():
            with contextlib.suppress(Exception):
                proc.kill()
    return 0
