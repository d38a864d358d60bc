"""The one JSON event: what a device publishes on MQTT (`anfang/<compound>/<device>/events`) and
what an integration posts to the batch API (`POST /api/events/batch`). Both adapters validate with
this model, so a field means the same on either path; the JSON Schema published at
docs/schemas/event.schema.json and `GET /api/events/schema` is generated from it (a test fails
when the committed file is stale; `ANFANG_WRITE_SCHEMA=1 pytest tests/events/test_jsonevent.py`
rewrites it).

Field names follow the canonical Event (DESIGN.md): external_id, kind, vendor_code, state, channel,
occurred_at, severity, payload. A device names what happened either by a canonical `kind` or by its
own `vendor_code`, looked up in `VENDOR_CODES`; a code not in the table is stored as `unmapped`
with the raw code (never dropped). Validation errors name the field (`loc`) and the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import orjson
from django.utils.translation import gettext
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from anfang.devices.models import Device

from .. import choices as c
from ..ingest import Incoming, Rejected, parse_device_time
from .base import mapped

MAX_ID = 2**63 - 1
MAX_PAYLOAD_BYTES = 64 * 1024

# Vendor event codes seen from MQTT gateways, alarm panels and cameras forwarding their events as
# JSON (Hikvision eventType, Dahua Code, common panel firmwares). Looked up case-insensitively.
VENDOR_CODES: dict[str, str] = {
    # Hikvision ISAPI eventType
    "vmd": c.EventKind.MOTION,
    "videoloss": c.EventKind.VIDEO_LOSS,
    "shelteralarm": c.EventKind.TAMPER,
    "tamperdetection": c.EventKind.TAMPER,
    "linedetection": c.EventKind.LINE_CROSSING,
    "fielddetection": c.EventKind.PERIMETER_INTRUSION,
    "regionentrance": c.EventKind.REGION_ENTRANCE,
    "regionexiting": c.EventKind.REGION_EXIT,
    "io": c.EventKind.ALARM_INPUT,
    "anpr": c.EventKind.ANPR_PASSAGE,
    "diskfull": c.EventKind.STORAGE_FAULT,
    "diskerror": c.EventKind.STORAGE_FAULT,
    "illaccess": c.EventKind.ILLEGAL_ACCESS,
    # Dahua event Code
    "videomotion": c.EventKind.MOTION,
    "crosslinedetection": c.EventKind.LINE_CROSSING,
    "crossregiondetection": c.EventKind.PERIMETER_INTRUSION,
    "videoblind": c.EventKind.TAMPER,
    "alarmlocal": c.EventKind.ALARM_INPUT,
    "storagefailure": c.EventKind.STORAGE_FAULT,
    "storagelowspace": c.EventKind.STORAGE_FAULT,
    "trafficjunction": c.EventKind.ANPR_PASSAGE,
    # Gateways and alarm panels
    "heartbeat": c.EventKind.HEARTBEAT,
    "online": c.EventKind.DEVICE_ONLINE,
    "offline": c.EventKind.DEVICE_OFFLINE,
    "zone_alarm": c.EventKind.ALARM_INPUT,
    "tamper": c.EventKind.TAMPER,
    "panic": c.EventKind.HOUSEHOLD_PANIC,
    "sos": c.EventKind.HOUSEHOLD_PANIC,
    "burglary": c.EventKind.HOUSEHOLD_BURGLARY,
    "fire_gas": c.EventKind.HOUSEHOLD_FIRE_GAS,
    "fire": c.EventKind.HOUSEHOLD_FIRE_GAS,
    "smoke": c.EventKind.HOUSEHOLD_FIRE_GAS,
    "gas": c.EventKind.HOUSEHOLD_FIRE_GAS,
    "checkpoint_read": c.EventKind.PATROL_CHECKIN,
    "door_open": c.EventKind.DOOR_OPEN,
    "door_closed": c.EventKind.DOOR_CLOSED,
    "door_forced": c.EventKind.DOOR_FORCED,
    "door_held": c.EventKind.DOOR_HELD,
    "access_granted": c.EventKind.ACCESS_GRANTED,
    "access_denied": c.EventKind.ACCESS_DENIED,
    "call": c.EventKind.INTERCOM_CALL,
    "motion": c.EventKind.MOTION,
}

KIND_VALUES = tuple(c.EventKind.values)
Kind = Literal[KIND_VALUES]  # type: ignore[valid-type]
State = Literal[tuple(c.EventState.values)]  # type: ignore[valid-type]
SeverityValue = Literal[tuple(c.Severity.values)]  # type: ignore[valid-type]


def _no_nul(value: str | None) -> str | None:
    # PostgreSQL refuses NUL in text and JSON; refuse it here, naming the field, not at write time.
    if value is not None and "\x00" in value:
        raise PydanticCustomError("no_nul", gettext("不能包含空字符（\\x00）。"))
    return value


def _nul_path(value: Any, path: str = "") -> str | None:
    """Where inside `payload` a NUL character is (keys and strings, at any depth), or None."""
    if isinstance(value, str):
        return (path or "(value)") if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((f"[{i}]", item) for i, item in enumerate(value))
    for key, item in items:
        shown = key.replace("\x00", "\\x00")
        here = f"{path}{shown}" if key.startswith("[") else f"{path}.{shown}" if path else shown
        if "\x00" in key:
            return here
        found = _nul_path(item, here)
        if found is not None:
            return found
    return None


class JsonEvent(BaseModel):
    """One event as a device or integration sends it."""

    model_config = ConfigDict(extra="forbid", strict=True, title="AnfangEvent")

    external_id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="The device's own id of this event. Events are deduplicated by (device, external_id); "
        "without it by a hash of the content. Send it: a redelivered message is then never stored twice.",
        examples=["cam-17-000123"],
    )
    kind: Kind | None = Field(  # type: ignore[valid-type]
        None,
        description="Canonical event kind. Either `kind` or `vendor_code` is required; when both are sent, "
        "`kind` decides and `vendor_code` is kept.",
    )
    vendor_code: str | None = Field(
        None,
        min_length=1,
        max_length=96,
        description="The device's own event code, mapped to a kind by the platform's table (case-insensitive); "
        "an unknown code is stored as kind `unmapped` with the code kept, never dropped.",
        examples=["VMD", "CrossLineDetection", "PANIC"],
    )
    state: State = Field(  # type: ignore[valid-type]
        c.EventState.PULSE.value,
        description="`start`/`stop` for a condition that begins and ends (an alarm input, a video loss), "
        "`pulse` for a one-off occurrence (a plate read, a card swipe).",
    )
    channel: int | None = Field(None, ge=0, le=65535, description="Camera channel, alarm input or zone number.")
    occurred_at: str = Field(
        ...,
        max_length=64,
        description="When it happened, by the device clock: ISO 8601 with a zone offset "
        "(2025-03-01T08:15:00+08:00 or …Z). Without a zone the time is read as Beijing time and the "
        "event is flagged `zone_assumed`; a time far ahead of the platform clock is kept and flagged "
        "`clock_skew`.",
        json_schema_extra={"format": "date-time"},
        examples=["2025-03-01T08:15:00.250+08:00"],
    )
    severity: SeverityValue | None = Field(  # type: ignore[valid-type]
        None,
        description="0 info, 1 notice, 2 warning, 3 critical. Default: the kind's own severity.",
    )
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Vendor fields kept with the event (plate, card number, zone name …), "
        f"at most {MAX_PAYLOAD_BYTES // 1024} KiB as JSON.",
    )
    device: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="Platform id of the device. Required in the batch API when calling as a user; "
        "on MQTT it is taken from the topic and, when sent, must match it.",
    )
    token: str | None = Field(
        None,
        max_length=128,
        description="MQTT only: the device token (`afd_…`, issued on the device page). It proves the "
        "message comes from the device the topic names. Not stored with the event.",
    )

    _moment: dt.datetime = PrivateAttr()
    _zone_assumed: bool = PrivateAttr(default=False)

    _check_nul = field_validator("external_id", "vendor_code", "token")(_no_nul)

    @field_validator("occurred_at")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        try:
            parse_device_time(value)
        except Rejected as exc:
            raise PydanticCustomError("timestamp", exc.detail) from None
        return value

    @field_validator("payload")
    @classmethod
    def _payload(cls, value: dict[str, Any]) -> dict[str, Any]:
        nul = _nul_path(value)
        if nul is not None:
            raise PydanticCustomError("no_nul", "{path}: " + gettext("不能包含空字符（\\x00）。"), {"path": nul})
        try:
            size = len(orjson.dumps(value))
        except (TypeError, orjson.JSONEncodeError) as exc:  # e.g. integers beyond 64 bits
            raise PydanticCustomError(
                "payload_not_json", "不能保存为 JSON / cannot be stored as JSON: {error}", {"error": str(exc)}
            ) from None
        if size > MAX_PAYLOAD_BYTES:
            raise PydanticCustomError(
                "payload_too_large",
                "超过 {limit} 字节上限 / over the {limit}-byte limit ({size} bytes)",
                {"limit": MAX_PAYLOAD_BYTES, "size": size},
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise PydanticCustomError("not_object", "事件必须是 JSON 对象 / an event must be a JSON object")
        return data

    @model_validator(mode="after")
    def _settle(self) -> JsonEvent:
        if self.kind is None and self.vendor_code is None:
            raise PydanticCustomError(
                "kind_missing", "kind 与 vendor_code 至少填写一项 / either kind or vendor_code is required"
            )
        self._moment, self._zone_assumed = parse_device_time(self.occurred_at)
        return self

    @property
    def moment(self) -> dt.datetime:
        return self._moment

    @property
    def canonical_kind(self) -> str:
        if self.kind is not None:
            return str(self.kind)
        return mapped(VENDOR_CODES, (self.vendor_code or "").lower())

    def to_incoming(self, device: Device, source: str, received_at: dt.datetime | None = None) -> Incoming:
        return Incoming(
            device_id=device.pk,
            compound_id=device.compound_id,
            kind=self.canonical_kind,
            occurred_at=self._moment,
            source=source,
            state=str(self.state),
            channel=self.channel,
            severity=int(self.severity) if self.severity is not None else None,
            external_id=self.external_id or "",
            vendor_code=self.vendor_code or "",
            payload=self.payload,
            flags=[c.Flag.ZONE_ASSUMED.value] if self._zone_assumed else [],
            received_at=received_at,
        )


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as `{loc, msg, type}` with the field path; a whole-event error (no field)
    is put on `kind` when it is about kind/vendor_code, else on the event itself."""
    out = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        if not loc and err["type"] == "kind_missing":
            loc = ["kind"]
        out.append({"loc": loc, "msg": err["msg"], "type": err["type"]})
    return out


def describe(errors: list[dict[str, Any]]) -> str:
    """`field.path: reason; …` for a dead letter's detail."""
    text = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(event)'}: {e['msg']}" for e in errors)
    return text.replace("\x00", "\\x00")  # a key sent with NUL in it must not reach a text column


def validate(doc: Any) -> JsonEvent:
    """Validate one decoded event; raises Rejected(invalid) naming every bad field."""
    try:
        return JsonEvent.model_validate(doc)
    except ValidationError as exc:
        raise Rejected(c.DeadLetterReason.INVALID, describe(field_errors(exc))) from None


def decode(body: bytes) -> Any:
    """JSON bytes → Python; raises Rejected(malformed) with the parser's reason."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Rejected(c.DeadLetterReason.MALFORMED, f"JSON 无法解析 / malformed JSON: {exc}") from None


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of one event (deterministic: same model, same bytes)."""
    schema = JsonEvent.model_json_schema()
    kind_doc = "; ".join(f"{value} = {label}" for value, label in _labels().items())
    schema["properties"]["kind"]["description"] += " Kinds: " + kind_doc
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://anfang.invalid/schemas/event.schema.json",
        **schema,
        "description": (
            "One event published by a device on MQTT topic anfang/<compound_id>/<device_id>/events "
            "(QoS 1, one event per message, field `token` required) or posted by an integration to "
            'POST /api/events/batch as {"events": [...]} (at most 1000 per request).'
        ),
        "anyOf": [
            {"required": ["kind"], "properties": {"kind": {"type": "string"}}},
            {"required": ["vendor_code"], "properties": {"vendor_code": {"type": "string"}}},
        ],
    }


def _labels() -> dict[str, str]:
    from django.utils import translation

    with translation.override("zh-hans"):
        return {value: str(label) for value, label in c.EventKind.choices}


def schema_text() -> str:
    return orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
