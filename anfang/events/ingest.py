"""The ingest step shared by every adapter: an adapter turns a payload into `Incoming` events;
`normalise` settles their times and keys; `store` writes them durably (database, or the spool when
the database is down) and reports per event what happened.

Adapters never write. They raise `Rejected` for a payload they cannot use, which the caller keeps
as a dead letter (`deadletters.record`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings

from . import choices as c

# Device clocks without a zone are read as Beijing time: every device in scope is installed there.
DEVICE_ZONE = ZoneInfo("Asia/Shanghai")


class Rejected(Exception):
    """A payload (or one event of it) that cannot become an event; `reason` is a DeadLetterReason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Incoming:
    """One canonical event before it is stored (DESIGN.md canonical event)."""

    device_id: int
    compound_id: int
    kind: str
    occurred_at: dt.datetime
    source: str
    state: str = c.EventState.PULSE
    channel: int | None = None
    severity: int | None = None
    external_id: str = ""
    vendor_code: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    media: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    received_at: dt.datetime | None = None
    key: str = ""

    def as_record(self) -> dict[str, Any]:
        """JSON-safe form for the spool."""
        return {
            "device_id": self.device_id,
            "compound_id": self.compound_id,
            "kind": self.kind,
            "state": self.state,
            "channel": self.channel,
            "severity": self.severity,
            "occurred_at": self.occurred_at.isoformat(),
            "received_at": self.received_at.isoformat() if self.received_at else None,
            "source": self.source,
            "external_id": self.external_id,
            "vendor_code": self.vendor_code,
            "payload": self.payload,
            "media": self.media,
            "flags": self.flags,
            "key": self.key,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Incoming:
        data = dict(record)
        data["occurred_at"] = dt.datetime.fromisoformat(data["occurred_at"])
        if data.get("received_at"):
            data["received_at"] = dt.datetime.fromisoformat(data["received_at"])
        return cls(**data)


def clock_skew_limit() -> dt.timedelta:
    return dt.timedelta(seconds=settings.ANFANG_CLOCK_SKEW_SECONDS)


def parse_device_time(value: str) -> tuple[dt.datetime, bool]:
    """An ISO 8601 device timestamp → aware datetime, and whether its zone had to be assumed.
    Raises Rejected(invalid) for anything that is not a timestamp."""
    text = (value or "").strip()
    if not text:
        raise Rejected(c.DeadLetterReason.INVALID, "时间为空 / empty timestamp")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise Rejected(c.DeadLetterReason.INVALID, f"时间格式无效 / invalid timestamp {value[:64]!r}") from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=DEVICE_ZONE), True
    return moment, False


KINDS = frozenset(c.EventKind.values)
STATES = frozenset(c.EventState.values)


def validate(event: Incoming) -> None:
    """The invariants of a canonical event; an adapter that breaks one is rejected, not stored."""
    problems = []
    if event.kind not in KINDS:
        problems.append(f"kind {event.kind!r} 不在事件类型表中")
    if event.state not in STATES:
        problems.append(f"state {event.state!r} 无效")
    if event.channel is not None and not 0 <= event.channel <= 65535:
        problems.append(f"channel {event.channel} 超出范围 0–65535")
    if len(event.external_id) > 128:
        problems.append("external_id 超过 128 字符")
    if len(event.vendor_code) > 96:
        problems.append("vendor_code 超过 96 字符")
    if event.occurred_at.tzinfo is None:
        problems.append("occurred_at 无时区")
    if problems:
        raise Rejected(c.DeadLetterReason.INVALID, "；".join(problems))


def normalise(event: Incoming, received_at: dt.datetime) -> Incoming:
    """Check the event, then fill what every event needs: receive time, severity, flags for
    untrusted times, dedup key. Raises Rejected(invalid)."""
    validate(event)
    event.received_at = event.received_at or received_at
    if event.severity is None:
        event.severity = c.default_severity(event.kind)
    skew = event.occurred_at - event.received_at
    if skew > clock_skew_limit() and c.Flag.CLOCK_SKEW not in event.flags:
        event.flags.append(c.Flag.CLOCK_SKEW)
    elif -skew > dt.timedelta(seconds=settings.ANFANG_LATE_EVENT_SECONDS) and c.Flag.LATE not in event.flags:
        event.flags.append(c.Flag.LATE)
    if not event.key:
        event.key = dedup_key(event)
    return event


def dedup_key(event: Incoming) -> str:
    """The device's own id when it sends one, else a hash of what makes the event itself."""
    if event.external_id:
        return "x:" + event.external_id[:150]
    content = orjson.dumps(
        [event.kind, event.state, event.channel, event.occurred_at.isoformat(), event.vendor_code, event.payload],
        option=orjson.OPT_SORT_KEYS,
    )
    return "h:" + hashlib.blake2b(content, digest_size=20).hexdigest()


@dataclass(slots=True)
class Outcome:
    """What happened to one incoming event: stored (with its id), duplicate (of which id), or
    spooled (durable on local disk, written to the database on recovery)."""

    status: str
    event_id: int | None = None


STORED, DUPLICATE, SPOOLED = "stored", "duplicate", "spooled"
