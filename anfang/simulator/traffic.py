"""What the simulated devices say and how often: the event mix of a residential compound (mostly
heartbeats, motion and door/access traffic; perimeter intrusion, forced doors and panic rare),
licence plates, and a pacer that keeps the configured rate.

Every protocol module (isapi, mqtt, dahua) renders the same `Happening` in its own wire format."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from anfang.devices.choices import DeviceType
from anfang.events.choices import EventKind as K

# Devices in scope are installed in Liaoning and report Beijing time.
DEVICE_ZONE = ZoneInfo("Asia/Shanghai")

# Relative weights per device type: what a day at a compound looks like to each kind of device.
# Heartbeats dominate (a device reports every 30–60 s), then motion at cameras and card swipes at
# doors; the alarms that matter are rare.
MIX: dict[str, dict[str, float]] = {
    DeviceType.CAMERA: {
        K.HEARTBEAT: 35,
        K.MOTION: 50,
        K.LINE_CROSSING: 6,
        K.REGION_ENTRANCE: 4,
        K.PERIMETER_INTRUSION: 0.5,
        K.VIDEO_LOSS: 0.4,
        K.TAMPER: 0.3,
    },
    DeviceType.ANPR_CAMERA: {K.HEARTBEAT: 45, K.ANPR_PASSAGE: 45, K.MOTION: 10},
    DeviceType.NVR: {K.HEARTBEAT: 80, K.MOTION: 15, K.VIDEO_LOSS: 2, K.STORAGE_FAULT: 0.5, K.ILLEGAL_ACCESS: 0.5},
    DeviceType.ACCESS_CONTROLLER: {
        K.HEARTBEAT: 20,
        K.ACCESS_GRANTED: 55,
        K.DOOR_OPEN: 10,
        K.DOOR_CLOSED: 10,
        K.ACCESS_DENIED: 3,
        K.DOOR_HELD: 0.5,
        K.DOOR_FORCED: 0.2,
    },
    DeviceType.INTERCOM_OUTDOOR: {K.HEARTBEAT: 40, K.INTERCOM_CALL: 25, K.ACCESS_GRANTED: 30, K.DOOR_FORCED: 0.2},
    DeviceType.ALARM_HOST: {K.HEARTBEAT: 95, K.ALARM_INPUT: 0.6, K.TAMPER: 0.3},
    DeviceType.PERIMETER_DETECTOR: {K.HEARTBEAT: 97, K.PERIMETER_INTRUSION: 0.5, K.TAMPER: 0.5},
    DeviceType.ELECTRIC_FENCE: {K.HEARTBEAT: 97, K.PERIMETER_INTRUSION: 0.5, K.TAMPER: 0.5},
    DeviceType.HOUSEHOLD_PANEL: {
        K.HEARTBEAT: 95,
        K.HOUSEHOLD_PANIC: 0.3,
        K.HOUSEHOLD_BURGLARY: 0.2,
        K.HOUSEHOLD_FIRE_GAS: 0.1,
    },
    DeviceType.PANIC_BUTTON: {K.HEARTBEAT: 98, K.HOUSEHOLD_PANIC: 0.5},
    DeviceType.PATROL_READER: {K.PATROL_CHECKIN: 80, K.HEARTBEAT: 20},
    DeviceType.PATROL_CHECKPOINT: {K.PATROL_CHECKIN: 60, K.HEARTBEAT: 40},
    DeviceType.BARRIER_CONTROLLER: {K.HEARTBEAT: 50, K.DOOR_OPEN: 25, K.DOOR_CLOSED: 25},
    DeviceType.GATE: {K.HEARTBEAT: 60, K.DOOR_OPEN: 20, K.DOOR_CLOSED: 20},
}
DEFAULT_MIX: dict[str, float] = {K.HEARTBEAT: 100.0}

# The kinds a duty operator must act on; counted separately in the progress line.
ALARMS = frozenset(
    {
        K.PERIMETER_INTRUSION,
        K.ALARM_INPUT,
        K.DOOR_FORCED,
        K.HOUSEHOLD_PANIC,
        K.HOUSEHOLD_BURGLARY,
        K.HOUSEHOLD_FIRE_GAS,
    }
)

# Licence plates (GA 36): province + issuing-authority letter, then five characters without I/O.
# Yingkou is 辽H; neighbours and visitors from elsewhere in Liaoning and beyond are rarer.
PLATE_PREFIXES = (("辽H", 70), ("辽B", 8), ("辽A", 8), ("辽G", 4), ("辽L", 4), ("吉A", 2), ("京A", 2), ("黑A", 2))
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PLATE_DIGITS = "0123456789"


def plate(rng: random.Random) -> str:
    """A plausible plate such as 辽H·12345 (blue), 辽H·A1234, or 辽H·D12345 (green, new energy)."""
    prefix = rng.choices([p for p, _ in PLATE_PREFIXES], [w for _, w in PLATE_PREFIXES])[0]
    roll = rng.random()
    if roll < 0.15:  # new energy vehicle: D/F then five more
        tail = rng.choice("DF") + "".join(rng.choice(PLATE_DIGITS) for _ in range(5))
    elif roll < 0.55:
        tail = "".join(rng.choice(PLATE_DIGITS) for _ in range(5))
    else:
        tail = rng.choice(PLATE_LETTERS) + "".join(rng.choice(PLATE_LETTERS + PLATE_DIGITS) for _ in range(4))
    return f"{prefix}·{tail}"


@dataclass(slots=True)
class SimDevice:
    """A registered device as the simulator drives it."""

    id: int
    compound_id: int
    device_type: str
    protocol: str
    name: str = ""
    token: str = ""
    ip_address: str = "10.86.0.10"
    mac_address: str = "44:19:B6:00:00:01"
    serial: str = ""
    channels: int = 1
    restricted: dict[str, float] | None = None  # the mix cut to what its protocol can say

    @property
    def mix(self) -> dict[str, float]:
        return self.restricted or MIX.get(self.device_type, DEFAULT_MIX)


@dataclass(slots=True)
class Happening:
    """One thing a device reports, before it is rendered in a protocol."""

    device: SimDevice
    kind: str
    at: dt.datetime
    seq: int
    channel: int = 1
    plate: str = ""
    card_no: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def external_id(self) -> str:
        return f"sim-{self.device.id}-{self.seq}"


class Traffic:
    """Draws happenings for a set of devices: a device at random, then a kind from its mix."""

    def __init__(self, devices: Sequence[SimDevice], seed: int | None = None) -> None:
        if not devices:
            raise ValueError("no devices to simulate")
        self.devices = list(devices)
        self.rng = random.Random(seed)
        # Sequence numbers start at the wall clock so that two runs never repeat an event id.
        self.seq = itertools.count(int(time.time() * 1000) * 1000)
        self._tables: dict[tuple, tuple[list[str], list[float]]] = {}

    def kind_for(self, device: SimDevice) -> str:
        mix = device.mix
        key = tuple(mix.items())
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = (list(mix), list(itertools.accumulate(mix.values())))
        return self.rng.choices(table[0], cum_weights=table[1])[0]

    def next(self, device: SimDevice | None = None, kind: str | None = None) -> Happening:
        device = device or self.rng.choice(self.devices)
        kind = kind or self.kind_for(device)
        happening = Happening(
            device=device,
            kind=kind,
            at=dt.datetime.now(DEVICE_ZONE),
            seq=next(self.seq),
            channel=self.rng.randint(1, device.channels),
        )
        if kind == K.ANPR_PASSAGE:
            happening.plate = plate(self.rng)
        elif kind in {K.ACCESS_GRANTED, K.ACCESS_DENIED, K.PATROL_CHECKIN}:
            happening.card_no = f"{self.rng.randrange(10**9, 10**10)}"
        return happening


class Pacer:
    """Keeps a steady rate: `due()` says how many events are owed right now on the schedule
    start + n / rate. When the sender falls more than `max_lag` seconds behind (the server is
    slower than the rate), the schedule slips instead of bursting, and `slipped` counts the
    events that were not sent on time."""

    def __init__(self, rate: float, *, max_lag: float = 1.0, clock=time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.clock = clock
        self.start = clock()
        self.issued = 0
        self.slipped = 0
        self.max_owed = max(1, int(rate * max_lag))

    def due(self) -> int:
        owed = int((self.clock() - self.start) * self.rate + 1e-6) - self.issued  # 1e-6: float noise
        if owed > self.max_owed:
            self.slipped += owed - self.max_owed
            self.start += (owed - self.max_owed) / self.rate
            owed = self.max_owed
        owed = max(0, owed)
        self.issued += owed
        return owed

    def wait(self) -> float:
        """Seconds until the next event is due (0 when one is due now)."""
        return max(0.0, self.start + (self.issued + 1) / self.rate - self.clock())
