"""Dahua event-stream client (issue 5 §3): one thread per device holds
`GET /cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=N` open with HTTP digest auth,
cuts the multipart stream into blocks as bytes arrive and hands each block, as one Payload of
source `dahua`, to a sink (the shared BatchWriter, or `services.process`). A block that cannot be
used becomes a dead letter holding that block.

Heartbeats are not stored as events: the device sends one every N seconds, which would be most of
the table and say nothing an up-to-date `DeviceHealth.last_seen_at` does not (written at most every
`seen_interval` seconds per device). A missed heartbeat (no bytes for 2N + 15 s) ends the
connection and the client reconnects.

Reconnects back off exponentially with jitter, capped; a connection that stayed up `healthy_after`
seconds starts the schedule afresh. A refused login (401) is logged and retried on a much slower
schedule: Dahua devices lock an account after a few failed logins, and hammering would lock out
the device's own users too."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.db import DatabaseError, connections
from django.utils import timezone

from anfang.devices.choices import DeviceStatus, Vendor
from anfang.devices.models import Device, DeviceCredential, DeviceHealth

from .. import choices as c
from .. import deadletters
from ..adapters.base import Payload
from ..adapters.dahua import ADAPTER, Block, StreamParser, boundary_from
from ..ingest import Incoming, Outcome, Rejected, normalise
from ..writer import BatchWriter, _drop_broken_connection

log = logging.getLogger(__name__)

ATTACH_PATH = "/cgi-bin/eventManager.cgi"
DEFAULT_HEARTBEAT = 30

Deliver = Callable[[Payload, Device], None]

STREAMED, UNAUTHORIZED, FAILED = "streamed", "unauthorized", "failed"


def attach_url(base_url: str, heartbeat: int = DEFAULT_HEARTBEAT) -> str:
    return f"{base_url.rstrip('/')}{ATTACH_PATH}?action=attach&codes=[All]&heartbeat={heartbeat}"


@dataclass
class Backoff:
    """Delay before the next connection attempt: "equal jitter" exponential backoff (half the
    ceiling fixed, half random, so many devices dropped at once do not return in step and no delay
    is ever near zero)."""

    base: float = 1.0
    cap: float = 60.0
    auth_base: float = 60.0
    auth_cap: float = 900.0
    healthy_after: float = 60.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, *, unauthorized: bool = False) -> float:
        base, cap = (self.auth_base, self.auth_cap) if unauthorized else (self.base, self.cap)
        ceiling = min(cap, base * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def connected(self, seconds: float) -> None:
        if seconds >= self.healthy_after:
            self.attempt = 0


class DahuaConnector:
    """Holds one device's event stream open until `stop()`."""

    def __init__(
        self,
        device: Device,
        *,
        url: str,
        username: str,
        password: str,
        deliver: Deliver,
        heartbeat: int = DEFAULT_HEARTBEAT,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        seen_interval: float = 30.0,
    ) -> None:
        self.device = device
        self.base_url = url
        self.url = attach_url(url, heartbeat)
        self.endpoint = self.url[self.url.index(ATTACH_PATH) :]
        self.deliver = deliver
        self.backoff = backoff or Backoff()
        self.timeout = httpx.Timeout(connect_timeout, read=heartbeat * 2 + 15)
        self.auth = httpx.DigestAuth(username, password)
        self.seen_interval = seen_interval
        self.stats: Counter[str] = Counter()
        self.state = "new"
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._network_stream: Any = None
        self._last_seen_write = -float("inf")
        self.thread = threading.Thread(target=self.run, name=f"dahua-{device.pk}", daemon=True)

    def __repr__(self) -> str:  # never the password
        return f"<DahuaConnector device={self.device.pk} {self.base_url} {self.state}>"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> DahuaConnector:
        self.thread.start()
        return self

    def request_stop(self) -> None:
        """Wake the thread from its wait or from the socket read (shutting the socket down ends
        the read at once, however long the heartbeat interval)."""
        self._stopping.set()
        with self._lock:
            stream = self._network_stream
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> None:
        try:
            with httpx.Client(auth=self.auth, timeout=self.timeout, follow_redirects=False) as client:
                while not self.stopping:
                    started = time.monotonic()
                    outcome = self._attach(client)
                    if self.stopping:
                        break
                    if outcome == STREAMED:
                        self.backoff.connected(time.monotonic() - started)
                    wait = self.backoff.delay(unauthorized=outcome == UNAUTHORIZED)
                    self.state = "waiting"
                    self._stopping.wait(wait)
        except Exception:  # a bug must not pass silently in a background thread
            log.exception("Dahua connector for device %s stopped by an error", self.device.pk)
            raise
        finally:
            self.state = "stopped"
            connections.close_all()  # this thread's connections: it will not run again

    # -- one connection -------------------------------------------------------------------------

    def _attach(self, client: httpx.Client) -> str:
        parser: StreamParser | None = None
        peer: str | None = None
        outcome = FAILED
        self.state = "connecting"
        try:
            with client.stream("GET", self.url) as response:
                if response.status_code == 401:
                    self.stats["unauthorized"] += 1
                    self.state = "unauthorized"
                    log.warning(
                        "Dahua device %s (%s) refused the login (HTTP 401): check its user name and password; "
                        "retrying slowly so the device does not lock the account",
                        self.device.pk,
                        self.base_url,
                    )
                    return UNAUTHORIZED
                if response.status_code != 200:
                    self.stats["failures"] += 1
                    log.warning(
                        "Dahua device %s (%s) answered HTTP %s to attach",
                        self.device.pk,
                        self.base_url,
                        response.status_code,
                    )
                    return FAILED
                stream = response.extensions.get("network_stream")
                with self._lock:
                    self._network_stream = stream
                peer = _peer(stream)
                parser = StreamParser(boundary_from(response.headers.get("content-type")))
                self.stats["connects"] += 1
                self.state = "streaming"
                outcome = STREAMED
                log.info("Dahua device %s (%s): event stream attached", self.device.pk, self.base_url)
                self._seen(force=True)
                if not self.stopping:
                    for chunk in response.iter_raw():
                        for block in parser.feed(chunk):
                            self._handle(block, peer)
                        if self.stopping:
                            break
        except httpx.TimeoutException as exc:
            self.stats["failures"] += 1
            log.warning("Dahua device %s (%s): %s; reconnecting", self.device.pk, self.base_url, _describe(exc))
        except (httpx.HTTPError, OSError) as exc:
            self.stats["failures"] += 1
            if not self.stopping:
                log.warning("Dahua device %s (%s): %s; reconnecting", self.device.pk, self.base_url, _describe(exc))
        finally:
            with self._lock:
                self._network_stream = None
        if parser is not None:
            for block in parser.finish():
                self._handle(block, peer)
        return outcome

    def _handle(self, block: Block, peer: str | None) -> None:
        self.stats["blocks"] += 1
        self._seen()
        if block.is_heartbeat:
            self.stats["heartbeats"] += 1
            return
        payload = Payload(
            body=block.raw,
            content_type=block.content_type,
            received_at=timezone.now(),
            source=c.Source.DAHUA,
            headers=block.headers,
            remote_addr=peer,
            endpoint=self.endpoint,
        )
        while True:
            try:
                if block.problem is not None:
                    self.stats["dead_letters"] += 1
                    deadletters.record(payload, block.problem, device=self.device)
                else:
                    self.deliver(payload, self.device)
                return
            except OSError:
                # Neither the database nor the spool can take it. The device will not send it
                # again, so hold on to it (the socket buffers fill and TCP slows the device down).
                log.exception("device %s: nowhere to keep a received block; retrying", self.device.pk)
                if self._stopping.wait(1.0):
                    log.error("device %s: stopping with a block not kept: %r", self.device.pk, block.raw[:200])
                    return
            except Exception as exc:
                # A value the database refuses, or a bug: the block is kept as a dead letter.
                log.exception("device %s: a block could not be stored", self.device.pk)
                try:
                    deadletters.record(
                        payload,
                        Rejected(c.DeadLetterReason.INVALID, f"入库失败 / could not be stored: {exc!r}"[:1000]),
                        device=self.device,
                    )
                except Exception:
                    log.exception("device %s: nor as a dead letter: %r", self.device.pk, block.raw[:200])
                return

    def _seen(self, *, force: bool = False) -> None:
        """The device is alive: keep `DeviceHealth.last_seen_at` current, at most every `seen_interval`."""
        now = time.monotonic()
        if not force and now - self._last_seen_write < self.seen_interval:
            return
        self._last_seen_write = now
        try:
            if not DeviceHealth.objects.filter(device_id=self.device.pk).update(last_seen_at=timezone.now()):
                DeviceHealth.objects.get_or_create(device_id=self.device.pk, defaults={"last_seen_at": timezone.now()})
        except DatabaseError:
            log.warning("device %s: could not record that it was seen", self.device.pk, exc_info=True)
            _drop_broken_connection()


def _peer(stream: Any) -> str | None:
    """The device's address as the socket sees it (for the dead letter), when it is an IP."""
    try:
        address = stream.get_extra_info("server_addr")[0]
        return str(ipaddress.ip_address(address))
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.ReadTimeout):
        return "no data within the read timeout (heartbeat missed)"
    return f"{type(exc).__name__}: {exc}"


# --- Sinks: where blocks go ----------------------------------------------------------------------


def process_block(payload: Payload, device: Device) -> None:
    """One transaction per block (`services.process`): simple, fine for a few devices."""
    from ..services import process

    process(payload, device, adapter=ADAPTER)


class WriterSink:
    """Events of many devices' blocks gathered by one BatchWriter into few commits; what cannot be
    used is kept as dead letters right away. The writer's bounded queue blocks the connector when
    the database falls behind, and TCP then slows the device down: back-pressure, nothing dropped."""

    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer
        self.stats: Counter[str] = Counter()

    def __call__(self, payload: Payload, device: Device) -> None:
        try:
            parsed = ADAPTER.parse(payload, device)
        except Rejected as rejected:
            deadletters.record(payload, rejected, device=device)
            self.stats["dead_letters"] += 1
            return
        events: list[Incoming] = []
        for event in parsed.events:
            try:
                events.append(normalise(event, payload.received_at))
            except Rejected as invalid:
                parsed.rejects.append((invalid, b""))
        for reject, fragment in parsed.rejects:
            deadletters.record(payload, reject, device=device, body=fragment or None)
            self.stats["dead_letters"] += 1
        if events:
            self.writer.submit(events, _written)
            self.stats["events"] += len(events)


def _written(outcomes: list[Outcome]) -> None:
    """Nothing to acknowledge: the stream has no acks, the events are durable once here."""


# --- Which devices, and keeping one connector per device running ---------------------------------


@dataclass(frozen=True)
class PullTarget:
    url: str
    username: str
    password: str = field(repr=False)


def pull_targets(device_ids: Iterable[int] | None = None) -> dict[int, tuple[Device, PullTarget]]:
    """Dahua devices the platform should subscribe to: a pull address set, ingest enabled, not retired."""
    credentials = (
        DeviceCredential.objects.select_related("device")
        .filter(enabled=True, device__vendor=Vendor.DAHUA)
        .exclude(pull_url="")
        .exclude(device__status=DeviceStatus.RETIRED)
    )
    if device_ids is not None:
        credentials = credentials.filter(device_id__in=list(device_ids))
    return {
        cred.device_id: (cred.device, PullTarget(cred.pull_url, cred.pull_username, cred.pull_password))
        for cred in credentials
    }


class Supervisor:
    """One connector per target device; `sync()` starts new ones, stops those disabled, retired or
    deleted, and restarts those whose address or login changed or whose thread died."""

    def __init__(
        self,
        deliver: Deliver,
        *,
        device_ids: Iterable[int] | None = None,
        heartbeat: int = DEFAULT_HEARTBEAT,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.deliver = deliver
        self.device_ids = list(device_ids) if device_ids is not None else None
        self.heartbeat = heartbeat
        self.backoff = backoff
        self.running: dict[int, tuple[PullTarget, DahuaConnector]] = {}

    def sync(self) -> tuple[int, int]:
        """Returns (started, stopped)."""
        targets = pull_targets(self.device_ids)
        stopped = 0
        for device_id, (target, connector) in list(self.running.items()):
            died = not connector.thread.is_alive()  # an unexpected error ended it: start it again
            if died or device_id not in targets or targets[device_id][1] != target:
                connector.stop()
                del self.running[device_id]
                stopped += 1
        started = 0
        for device_id, (device, target) in targets.items():
            if device_id in self.running:
                continue
            connector = DahuaConnector(
                device,
                url=target.url,
                username=target.username,
                password=target.password,
                deliver=self.deliver,
                heartbeat=self.heartbeat,
                backoff=self.backoff(),
            )
            self.running[device_id] = (target, connector.start())
            started += 1
        return started, stopped

    def stop(self, timeout: float = 10.0) -> None:
        connectors = [connector for _, connector in self.running.values()]
        for connector in connectors:  # wake them all first, then wait: shutdown takes one timeout, not N
            connector.request_stop()
        for connector in connectors:
            connector.stop(timeout)
        self.running.clear()
