"""MQTT JSON events (issue 5 §4): one event per message on `anfang/<compound_id>/<device_id>/events`,
body = the JSON event of `jsonevent.py`.

Device authentication. The broker may be anonymous (as on a single machine), so the message itself
must prove the device: it carries the device's token (`"token": "afd_…"`, the same token as for
HTTP push, stored hashed), and the token's device must be the one the topic names. A production
broker should in addition give each device its own MQTT username with an ACL limiting it to its
own topic; that stops a stranger publishing at all, but the broker's ACL is not something the
platform can verify per message, so the token check stays — it is what makes a message
attributable whatever the broker's configuration. The token is cut from anything kept as a dead
letter (`redact`), and never stored with the event.

This module is pure translation and checking; `mqtt_worker.py` runs the subscription."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from anfang.devices import services as devices
from anfang.devices.models import Device

from .. import choices as c
from ..ingest import Incoming, Rejected
from . import jsonevent
from .base import Parsed, Payload

TOPIC_ROOT = "anfang"
SHARE_GROUP = "anfang-ingest"
_TOPIC = re.compile(r"^(?:.+/)?(\d{1,18})/(\d{1,18})/events$")
_TOKEN = re.compile(rb"(afd_[A-Za-z0-9_-]{0,8})[A-Za-z0-9_-]*")


def topic(compound_id: int, device_id: int, root: str = TOPIC_ROOT) -> str:
    return f"{root}/{compound_id}/{device_id}/events"


def subscription(root: str = TOPIC_ROOT, group: str = SHARE_GROUP) -> str:
    """The shared subscription every ingest worker uses: the broker hands each message to one
    worker of the group."""
    return f"$share/{group}/{root}/+/+/events"


def topic_ids(name: str) -> tuple[int, int] | None:
    """(compound id, device id) named by an events topic, or None."""
    match = _TOPIC.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def redact(body: bytes) -> bytes:
    """The message with every device token cut to its prefix, for keeping as a dead letter."""
    return _TOKEN.sub(rb"\1...", body)


class Refused(Exception):
    """The message does not prove it comes from the device its topic names."""


class TokenCheck:
    """Device token → device, through the device registry (which caches briefly). While the
    database cannot be reached, a token that was valid at its last successful check is still
    trusted, so a database outage does not turn a flood of genuine events into refusals; a device
    disabled meanwhile is refused once the database answers again. A token never seen raises the
    database error (the caller keeps the message unacknowledged and retries)."""

    FRESH_SECONDS = 5.0  # answers younger than this are used without asking the registry again

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, Device | None]] = {}
        self._lock = threading.Lock()

    def device(self, raw: str) -> Device | None:
        from ..writer import UNAVAILABLE

        known = self._known.get(raw)
        now = time.monotonic()
        if known is not None and now - known[0] < self.FRESH_SECONDS:
            return known[1]
        try:
            device = devices.device_by_token(raw)
        except UNAVAILABLE:
            if known is None:
                raise
            return known[1]
        with self._lock:
            if len(self._known) > 100_000:
                self._known.clear()
            self._known[raw] = (now, device)
        return device


def authenticate(payload: Payload, doc: Any, tokens: TokenCheck) -> Device:
    """The device that sent `doc` on topic `payload.endpoint`; raises Refused."""
    ids = topic_ids(payload.endpoint)
    if ids is None:
        raise Refused(f"主题不是 <root>/<小区id>/<设备id>/events / topic {payload.endpoint[:200]!r} names no device")
    token = doc.get("token") if isinstance(doc, dict) else None
    if not isinstance(token, str) or not token:
        raise Refused("报文缺少设备令牌 token / no device token in the message")
    device = tokens.device(token)
    if device is None:
        raise Refused("未知或已停用的设备令牌 / unknown or disabled device token")
    if (device.compound_id, device.pk) != ids:
        raise Refused(
            f"令牌属于设备 {device.pk}（小区 {device.compound_id}），与主题不符 / "
            f"token of device {device.pk} (compound {device.compound_id}) used on topic for device {ids[1]} "
            f"(compound {ids[0]})"
        )
    return device


class MqttAdapter:
    source: str = c.Source.MQTT

    def parse(self, payload: Payload, device: Device | None) -> Parsed:
        """For replaying a kept message: its device is named by whoever replays it."""
        if device is None:
            raise Rejected(c.DeadLetterReason.UNAUTHENTICATED, "未指定设备 / no device")
        return Parsed(events=[self.event(jsonevent.decode(payload.body), device, payload)])

    def event(self, doc: Any, device: Device, payload: Payload) -> Incoming:
        event = jsonevent.validate(doc)
        if event.device is not None and event.device != device.pk:
            raise Rejected(
                c.DeadLetterReason.UNKNOWN_DEVICE,
                f"device: {event.device} 与主题中的设备 {device.pk} 不符 / does not match the topic's device",
            )
        return event.to_incoming(device, c.Source.MQTT, payload.received_at)


ADAPTER = MqttAdapter()
