"""Dahua devices in the simulation: one fake device (anfang/simulator/dahua.py, speaking
`eventManager.cgi?action=attach`) per Dahua device, fed with the simulated traffic rendered as
Dahua event codes. The Dahua connector (`manage.py ingest_dahua`) attaches to these servers the way
it attaches to real devices: the simulator sets each device's pull connection to its fake device."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from anfang.events.choices import EventKind as K

from .traffic import Happening, SimDevice

HOST = "127.0.0.1"
USERNAME = "admin"
PASSWORD = "sim-dahua-2026"

# Canonical kind → (Code, action, data) as Dahua firmware reports it. Conditions (motion, video
# loss …) start and stop; one-off occurrences are pulses.
CODES: dict[str, tuple[str, str, dict[str, Any]]] = {
    K.MOTION: ("VideoMotion", "Start", {"RegionName": ["Region1"], "SmartMotionEnable": False}),
    K.LINE_CROSSING: (
        "CrossLineDetection",
        "Start",
        {"Name": "Rule1", "Direction": "LeftToRight", "Object": {"ObjectType": "Human"}},
    ),
    K.REGION_ENTRANCE: (
        "CrossRegionDetection",
        "Start",
        {"Name": "Rule2", "Action": "Cross", "Direction": "Enter", "Object": {"ObjectType": "Human"}},
    ),
    K.PERIMETER_INTRUSION: (
        "CrossRegionDetection",
        "Start",
        {"Name": "Perimeter", "Action": "Inside", "Object": {"ObjectType": "Human"}},
    ),
    K.VIDEO_LOSS: ("VideoLoss", "Start", {}),
    K.TAMPER: ("VideoBlind", "Start", {}),
    K.STORAGE_FAULT: ("StorageFailure", "Start", {}),
    K.ALARM_INPUT: ("AlarmLocal", "Start", {}),
    K.ANPR_PASSAGE: ("TrafficJunction", "Pulse", {}),
    K.ACCESS_GRANTED: ("AccessControl", "Pulse", {"Method": 1, "Status": 1, "Type": "Entry"}),
    K.ACCESS_DENIED: ("AccessControl", "Pulse", {"Method": 1, "Status": 0, "Type": "Entry", "ErrorCode": 16}),
    K.DOOR_OPEN: ("DoorStatus", "Pulse", {"Status": "Open"}),
    K.DOOR_CLOSED: ("DoorStatus", "Pulse", {"Status": "Close"}),
    K.DOOR_FORCED: ("BreakIn", "Start", {}),
    K.DOOR_HELD: ("DoorNotClosed", "Start", {}),
    K.INTERCOM_CALL: ("Invite", "Pulse", {"CallID": "", "LockNum": 1}),
}

STOP_AFTER_SECONDS = 3.0


def supports(kind: str) -> bool:
    return kind in CODES


def block(h: Happening) -> tuple[str, str, int, dict[str, Any]]:
    """(code, action, index, data) of a happening; index is the 0-based channel as Dahua counts."""
    code, action, data = CODES[h.kind]
    data = dict(data)
    if h.kind == K.ANPR_PASSAGE:
        data = {
            "PlateNumber": h.plate,
            "TrafficCar": {"PlateNumber": h.plate, "PlateColor": "Blue", "VehicleColor": "White"},
            "UTC": int(h.at.timestamp()),
        }
    elif h.card_no:
        data["CardNo"] = h.card_no
        data["UserID"] = h.card_no[-6:]
    data.setdefault("UTC", int(h.at.timestamp()))
    data.setdefault("UTCMS", h.at.microsecond // 1000)
    return code, action, h.channel - 1, data


@dataclass
class FeedServer:
    device: SimDevice
    server: Any

    @property
    def url(self) -> str:
        return str(self.server.url)

    def stop(self) -> None:
        self.server.stop()


def start_servers(devices: Sequence[SimDevice]) -> dict[int, FeedServer]:
    """One fake Dahua device per simulated Dahua device, each on a free port."""
    from . import dahua

    return {device.id: FeedServer(device, dahua.start(HOST, 0, USERNAME, PASSWORD)) for device in devices}


def point_devices_at(feeds: dict[int, FeedServer], *, reissue: bool = False) -> list[int]:
    """Set each device's pull connection to its fake device (what an operator enters on the device
    page), so `manage.py ingest_dahua` attaches to it. A device already pulling from an address
    that is not a simulator's is left alone unless `reissue`; returns the device ids pointed."""
    from anfang.devices import services
    from anfang.devices.models import Device, DeviceCredential

    current = dict(
        DeviceCredential.objects.filter(device_id__in=list(feeds))
        .exclude(pull_url="")
        .values_list("device_id", "pull_url")
    )
    pointed = []
    for device in Device.objects.filter(pk__in=list(feeds)):
        url = current.get(device.pk, "")
        if url and not url.startswith(f"http://{HOST}:") and not reissue:
            continue
        services.set_pull_connection(None, device, url=feeds[device.pk].url, username=USERNAME, password=PASSWORD)
        pointed.append(device.pk)
    return pointed


def release_devices(device_ids: Sequence[int]) -> None:
    """Stop pulling from the simulator's (now stopped) fake devices."""
    from anfang.devices import services
    from anfang.devices.models import Device

    for device in Device.objects.filter(pk__in=list(device_ids)):
        services.set_pull_connection(None, device, url="", username="")


def emit(feed: FeedServer, h: Happening) -> None:
    code, action, index, data = block(h)
    feed.server.emit(code, action, index, data)
    if action == "Start":
        timer = threading.Timer(STOP_AFTER_SECONDS, feed.server.emit, args=(code, "Stop", index, data))
        timer.daemon = True
        timer.start()
