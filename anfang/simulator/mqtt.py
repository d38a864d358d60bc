"""Devices and gateways publishing JSON events over MQTT (issue 5 §4): one message per event on
`anfang/<compound>/<device>/events`, QoS 1, body following the published event schema
(anfang/events/adapters/jsonevent.py, docs/schemas/event.schema.json)."""

from __future__ import annotations

import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import orjson

from anfang.events.choices import EventKind as K

from .traffic import Happening

QOS = 1

# Vendor codes as gateway firmwares name them (kept in `vendor_code`, for the raw trail).
VENDOR_CODES: dict[str, str] = {
    K.HEARTBEAT: "HEARTBEAT",
    K.PERIMETER_INTRUSION: "ZONE_ALARM",
    K.TAMPER: "TAMPER",
    K.ALARM_INPUT: "ZONE_ALARM",
    K.HOUSEHOLD_PANIC: "PANIC",
    K.HOUSEHOLD_BURGLARY: "BURGLARY",
    K.HOUSEHOLD_FIRE_GAS: "FIRE_GAS",
    K.PATROL_CHECKIN: "CHECKPOINT_READ",
    K.DOOR_OPEN: "DOOR_OPEN",
    K.DOOR_CLOSED: "DOOR_CLOSED",
    K.DOOR_FORCED: "DOOR_FORCED",
    K.DOOR_HELD: "DOOR_HELD",
    K.ACCESS_GRANTED: "ACCESS_GRANTED",
    K.ACCESS_DENIED: "ACCESS_DENIED",
    K.INTERCOM_CALL: "CALL",
    K.MOTION: "MOTION",
}


def supports(kind: str) -> bool:
    return kind != K.UNMAPPED


def topic(h: Happening) -> str:
    return f"anfang/{h.device.compound_id}/{h.device.id}/events"


def event_dict(h: Happening) -> dict[str, Any]:
    """One event in the published JSON schema (anfang/events/adapters/jsonevent.py): the device
    proves itself with its token in the message; the device id comes from the topic."""
    event: dict[str, Any] = {
        "token": h.device.token,
        "external_id": h.external_id,
        "kind": h.kind,
        "occurred_at": h.at.isoformat(timespec="milliseconds"),
        "vendor_code": VENDOR_CODES.get(h.kind, h.kind.upper()),
    }
    if h.channel:
        event["channel"] = h.channel
    details: dict[str, Any] = {}
    if h.card_no:
        details["card_no"] = h.card_no
    if h.plate:
        details["plate"] = h.plate
    if h.extra:
        details.update(h.extra)
    if details:
        event["payload"] = details
    return event


def render(h: Happening) -> bytes:
    return orjson.dumps(event_dict(h))


def broker_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
        raise ValueError(f"MQTT URL must look like mqtt://host:1883, not {url!r}")
    return parts.hostname, parts.port or 1883


def broker_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at the broker's address (a quick check before
    starting publishers; the MQTT handshake itself is the client's business)."""
    try:
        host, port = broker_address(url)
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


class Publisher:
    """One MQTT connection publishing QoS 1 messages; counts messages the broker acknowledged
    (PUBACK) and the ones it refused or could not take."""

    def __init__(self, url: str, client_id: str, *, max_inflight: int = 1000) -> None:
        import paho.mqtt.client as paho

        self.host, self.port = broker_address(url)
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.acked = 0
        self.failed = 0
        self.published = 0
        self._lock = threading.Lock()
        self._success = paho.MQTT_ERR_SUCCESS

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        with self._lock:
            if getattr(reason_code, "is_failure", False):
                self.failed += 1
            else:
                self.acked += 1

    def connect(self, timeout: float = 5.0) -> Publisher:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def publish(self, topic: str, body: bytes) -> bool:
        info = self.client.publish(topic, body, qos=QOS)
        if info.rc != self._success:
            with self._lock:
                self.failed += 1
            return False
        self.published += 1
        return True

    def send(self, h: Happening) -> bool:
        return self.publish(topic(h), render(h))

    def pending(self) -> int:
        return self.published - self.acked - self.failed

    def close(self, timeout: float = 10.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while self.pending() > 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.client.disconnect()
        self.client.loop_stop()
