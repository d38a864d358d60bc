"""`manage.py simulate`: pick registered devices, give each the protocol its vendor speaks
(Hikvision → ISAPI push, Dahua → an event-stream server the Dahua connector attaches to, the
rest → MQTT through a gateway), and send their traffic at a steady rate with a progress line.

Device tokens: only a hash is stored, so the simulator keeps the plain tokens it issued in
`var/simulator-tokens.json`. A device that already has a token the simulator does not know is
left alone (re-issuing would lock the real device out) unless `reissue` is set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from anfang.devices.choices import DeviceStatus, DeviceType, Vendor

from . import isapi, mqtt
from .httpclient import Pool
from .traffic import ALARMS, Happening, Pacer, SimDevice, Traffic

PROTOCOLS = ("isapi", "mqtt", "dahua")
# Devices that prove who they are with a bearer token: ISAPI in the header, MQTT in the message.
TOKEN_PROTOCOLS = {"isapi", "mqtt"}

# What each vendor's device of each type speaks natively.
ISAPI_TYPES = {
    DeviceType.CAMERA,
    DeviceType.ANPR_CAMERA,
    DeviceType.NVR,
    DeviceType.ACCESS_CONTROLLER,
    DeviceType.INTERCOM_OUTDOOR,
    DeviceType.ALARM_HOST,
}
DAHUA_TYPES = {
    DeviceType.CAMERA,
    DeviceType.ANPR_CAMERA,
    DeviceType.NVR,
    DeviceType.ACCESS_CONTROLLER,
    DeviceType.INTERCOM_OUTDOOR,
}
# Display-only equipment reports nothing worth simulating.
SILENT_TYPES = {DeviceType.VIDEO_WALL, DeviceType.WORKSTATION}


def natural_protocol(vendor: str, device_type: str) -> str:
    if vendor == Vendor.HIKVISION and device_type in ISAPI_TYPES:
        return "isapi"
    if vendor == Vendor.DAHUA and device_type in DAHUA_TYPES:
        return "dahua"
    return "mqtt"


def protocol_for(vendor: str, device_type: str, enabled: Iterable[str]) -> str | None:
    """The device's own protocol when enabled; else MQTT (a gateway can forward any device's
    events) when that is enabled; else None (not simulated)."""
    enabled = set(enabled)
    native = natural_protocol(vendor, device_type)
    if native in enabled:
        return native
    return "mqtt" if "mqtt" in enabled else None


def token_file() -> Path:
    return Path(os.environ.get("ANFANG_SIMULATOR_TOKENS", settings.VAR_DIR / "simulator-tokens.json"))


def _load_tokens(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _spread(rows: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Take n devices round-robin over compounds, so every compound in the demo shows life."""
    by_compound: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_compound.setdefault(row["compound_id"], []).append(row)
    queues = list(by_compound.values())
    chosen: list[dict[str, Any]] = []
    while len(chosen) < n and queues:
        for queue in list(queues):
            if not queue:
                queues.remove(queue)
                continue
            chosen.append(queue.pop(0))
            if len(chosen) == n:
                break
    return chosen


def select_devices(
    n: int,
    protocols: Iterable[str],
    *,
    compound_ids: Sequence[int] | None = None,
    reissue: bool = False,
    tokens_path: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[SimDevice]:
    """N registered devices with their protocol; ISAPI and MQTT devices get a token (issued when
    they have none, remembered in the token file)."""
    from anfang.devices import services
    from anfang.devices.models import Device, DeviceCredential

    enabled = [p for p in protocols if p in PROTOCOLS]
    qs = Device.objects.exclude(status=DeviceStatus.RETIRED).exclude(device_type__in=SILENT_TYPES)
    if compound_ids:
        qs = qs.filter(compound_id__in=compound_ids)
    rows = [
        {**row, "protocol": protocol_for(row["vendor"], row["device_type"], enabled)}
        for row in qs.order_by("compound_id", "id").values(
            "id", "compound_id", "device_type", "vendor", "name", "ip_address", "mac_address", "serial"
        )
    ]
    chosen = _spread([r for r in rows if r["protocol"]], n)
    path = tokens_path or token_file()
    tokens = _load_tokens(path)
    has_token = set(
        DeviceCredential.objects.filter(device_id__in=[r["id"] for r in chosen], token_hash__isnull=False).values_list(
            "device_id", flat=True
        )
    )
    devices: list[SimDevice] = []
    skipped = issued = 0
    for row in chosen:
        token = ""
        if row["protocol"] in TOKEN_PROTOCOLS:
            token = tokens.get(str(row["id"]), "")
            known = bool(token) and (found := services.device_by_token(token)) is not None and found.pk == row["id"]
            if not known:
                if row["id"] in has_token and not reissue:
                    skipped += 1
                    continue
                token = services.issue_device_token(None, Device.objects.get(pk=row["id"]))
                tokens[str(row["id"])] = token
                issued += 1
        devices.append(
            SimDevice(
                id=row["id"],
                compound_id=row["compound_id"],
                device_type=row["device_type"],
                protocol=row["protocol"],
                name=row["name"],
                token=token,
                ip_address=row["ip_address"] or "10.86.0.10",
                mac_address=row["mac_address"] or "44:19:B6:00:00:01",
                serial=row["serial"],
                channels=4 if row["device_type"] == DeviceType.NVR else 1,
            )
        )
    if issued:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(tokens))
        with contextlib.suppress(OSError):
            path.chmod(0o600)
        log(f"issued {issued} device tokens (kept in {path})")
    if skipped:
        log(f"skipped {skipped} devices that already have a token the simulator does not know (--reissue)")
    return devices


def supports(protocol: str, kind: str) -> bool:
    if protocol == "isapi":
        return isapi.supports(kind)
    if protocol == "dahua":
        from . import dahua_feed

        return dahua_feed.supports(kind)
    return mqtt.supports(kind)


def restrict_mixes(devices: Sequence[SimDevice]) -> list[SimDevice]:
    """Keep in each device's mix only what its protocol can say; drop devices left with nothing."""
    kept = []
    for device in devices:
        mix = {k: w for k, w in device.mix.items() if supports(device.protocol, k)}
        if mix:
            device.restricted = mix
            kept.append(device)
    return kept


class Writable(Protocol):
    def write(self, text: str) -> Any: ...

    def flush(self) -> Any: ...


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    sent: Counter[str] = field(default_factory=Counter)
    alarms: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


class Simulation:
    """Runs the traffic of `devices` at `rate` events/s for `duration` seconds (None: until
    stopped), printing a progress line every `every` seconds to `out`."""

    def __init__(
        self,
        devices: Sequence[SimDevice],
        rate: float,
        *,
        url: str = "http://127.0.0.1:8000",
        mqtt_url: str | None = None,
        duration: float | None = None,
        every: float = 1.0,
        out: Writable | None = None,
        concurrency: int = 8,
        seed: int | None = None,
    ) -> None:
        self.devices = restrict_mixes(devices)
        self.seed = seed
        self.traffic = Traffic(self.devices, seed=seed)
        self.rate = rate
        self.url = url
        self.mqtt_url = mqtt_url or settings.ANFANG_MQTT_URL
        self.duration = duration
        self.every = every
        self.out = out
        self.concurrency = concurrency
        self.stats = Stats()
        self.pool: Pool | None = None
        self.publisher: mqtt.Publisher | None = None
        self.dahua: dict[int, Any] = {}
        self.dahua_pointed: list[int] = []
        self.pacer: Pacer | None = None
        self._stop: asyncio.Event | None = None  # made inside the running loop
        self.stopped = False

    def protocols(self) -> set[str]:
        return {d.protocol for d in self.devices}

    def open_dahua(self, *, reissue: bool = False) -> list[Any]:
        """Start the fake Dahua devices and point the registered devices at them (database work:
        call before `run`, outside the event loop). Returns the fake devices serving."""
        from . import dahua_feed

        wanted = [d for d in self.devices if d.protocol == "dahua"]
        if not wanted:
            return []
        feeds = dahua_feed.start_servers(wanted)
        self.dahua_pointed = dahua_feed.point_devices_at(feeds, reissue=reissue)
        for device_id in set(feeds) - set(self.dahua_pointed):
            feeds.pop(device_id).stop()
        self.dahua = feeds
        self.devices = [d for d in self.devices if d.protocol != "dahua" or d.id in feeds]
        if self.devices:
            self.traffic = Traffic(self.devices, seed=self.seed)
        return list(feeds.values())

    def close_dahua(self) -> None:
        from . import dahua_feed

        for feed in self.dahua.values():
            with contextlib.suppress(Exception):
                feed.stop()
        if self.dahua_pointed:
            dahua_feed.release_devices(self.dahua_pointed)
        self.dahua, self.dahua_pointed = {}, []

    def write(self, line: str) -> None:
        if self.out is not None:
            self.out.write(line + "\n")
            self.out.flush()

    # --- protocol back-ends ------------------------------------------------------------------

    async def _start(self) -> None:
        protocols = self.protocols()
        if "isapi" in protocols:
            self.pool = Pool(self.url, concurrency=self.concurrency)
        if "mqtt" in protocols:
            self.publisher = mqtt.Publisher(self.mqtt_url, client_id=f"anfang-sim-{os.getpid()}").connect()

    async def _stop_backends(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        if self.publisher is not None:
            await asyncio.to_thread(self.publisher.close)

    async def _send(self, h: Happening) -> None:
        protocol = h.device.protocol
        self.stats.sent[protocol] += 1
        self.stats.kinds[h.kind] += 1
        if h.kind in ALARMS:
            self.stats.alarms += 1
        if protocol == "isapi":
            assert self.pool is not None
            body, content_type = isapi.render(h)
            await self.pool.submit(
                self.pool.prepare(isapi.PATH, body, isapi.request_headers(h.device.token, content_type))
            )
        elif protocol == "mqtt":
            assert self.publisher is not None
            self.publisher.send(h)
        else:
            from . import dahua_feed

            dahua_feed.emit(self.dahua[h.device.id], h)

    # --- the loop ------------------------------------------------------------------------------

    def progress(self) -> str:
        elapsed = max(time.monotonic() - self.stats.started, 1e-9)
        sent = sum(self.stats.sent.values())
        parts = [f"[{elapsed:5.0f}s] sent {sent} ({sent / elapsed:.1f}/s)"]
        if self.pool is not None:
            t = self.pool.tally
            c = t.by_class()
            parts.append(
                f"isapi {self.stats.sent['isapi']}: 2xx {c.get('2xx', 0)} 4xx {c.get('4xx', 0)} "
                f"5xx {c.get('5xx', 0)} errors {t.errors}"
            )
        if self.publisher is not None:
            p = self.publisher
            parts.append(f"mqtt {self.stats.sent['mqtt']}: acked {p.acked} failed {p.failed}")
        if self.dahua:
            parts.append(f"dahua {self.stats.sent['dahua']}")
        parts.append(f"alarms {self.stats.alarms}")
        if self.pacer is not None and self.pacer.slipped:
            parts.append(f"behind by {self.pacer.slipped}")
        line = " | ".join(parts)
        if self.pool is not None and self.pool.tally.last_error:
            line += f" | last error: {self.pool.tally.last_error}"
        return line

    def stop(self) -> None:
        self.stopped = True
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> Stats:
        self._stop = asyncio.Event()
        if self.stopped:
            return self.stats
        if not self.devices:
            self.write("nothing to simulate: every chosen device is pulled from elsewhere (--reissue)")
            return self.stats
        await self._start()
        self.stats = Stats()
        self.pacer = pacer = Pacer(self.rate)
        deadline = None if self.duration is None else time.monotonic() + self.duration
        next_report = time.monotonic() + self.every
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                for _ in range(pacer.due()):
                    await self._send(self.traffic.next())
                if now >= next_report:
                    self.write(self.progress())
                    next_report += self.every
                wait = min(pacer.wait(), 0.05, max(0.0, next_report - time.monotonic()))
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - time.monotonic()))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=wait)
        finally:
            await self._stop_backends()
        self.write(self.progress() + " — done")
        return self.stats


async def wait_for_server(
    url: str, timeout: float, log: Callable[[str], None] = print, stopped: Callable[[], bool] = lambda: False
) -> bool:
    """Wait until something accepts connections at `url` (runserver starting beside us)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    said = False
    while time.monotonic() < deadline and not stopped():
        try:
            _, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
            writer.close()
            return True
        except OSError:
            if not said:
                log(f"waiting for {url} …")
                said = True
            await asyncio.sleep(0.5)
    return False
