"""JSON batch API for integrations (issue 5 §5): `{"events": [<JSON event>, …]}`, at most
`MAX_EVENTS` per request, each event validated on its own so one bad event does not sink the rest.

Who may send for which device. A device token sends for its own device only (an event naming
another device is rejected). A user (API token or session) sends for devices of the compounds
where they hold an ingest role (`INGEST_ROLES`); every event then names its `device`, and a device
outside that scope is rejected as `unknown_device` exactly like one that does not exist.

Idempotent by `external_id`: the same request again answers every event `duplicate` with the id
stored the first time. Each rejected event is also kept as a dead letter (its own JSON), so it can
be fixed and replayed like any other payload."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.utils.translation import gettext
from pydantic import ValidationError

from anfang.core.choices import Role
from anfang.devices.models import Device

from .. import choices as c
from .. import deadletters
from ..ingest import Incoming, Rejected, normalise
from ..writer import store
from . import jsonevent
from .base import Parsed, Payload
from .mqtt import redact

MAX_EVENTS = 1000

# Roles whose holders may feed events for the devices of their compounds: the property company
# that runs the facilities (Art 30, 33(1)), the community for compounds without one (Art 32), and
# the duty room / monitoring centre that receives the alarm signals (Art 16).
INGEST_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER, Role.DUTY_OPERATOR})

REJECTED = "rejected"

# Error types whose message is already ours (bilingual); others are pydantic's and get reworded.
OWN_ERROR_TYPES = {
    "not_object",
    "timestamp",
    "no_nul",
    "kind_missing",
    "payload_not_json",
    "payload_too_large",
    "unknown_device",
}


@dataclass
class Result:
    """What became of one event of the batch."""

    index: int
    status: str = REJECTED
    event_id: int | None = None
    dead_letter: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def unknown_device_error() -> dict[str, Any]:
    return {
        "loc": ["device"],
        "msg": gettext("设备不存在或不在您的权限范围内。"),
        "type": "unknown_device",
    }


def _localised(errors: list[dict[str, Any]], raw: ValidationError) -> list[dict[str, Any]]:
    from anfang.api import _pydantic_message  # the API's wording of pydantic errors, in the request language

    out = []
    for mine, err in zip(errors, raw.errors(include_url=False), strict=True):
        if mine["type"] not in OWN_ERROR_TYPES:
            mine = {**mine, "msg": _pydantic_message(err)}
        out.append(mine)
    return out


def ingest(
    docs: list[Any],
    *,
    payload: Payload,
    device: Device | None,
    devices_in_scope: Callable[[Iterable[int]], dict[int, Device]],
) -> list[Result]:
    """Validate, store and report each event of a batch; rejects become dead letters. `device` is
    the authenticated sender (device token) or None for a user, whose events name their device
    and are looked up through `devices_in_scope`. Raises OSError when neither the database nor
    the spool can keep the events (the caller answers 503)."""
    results = [Result(i) for i in range(len(docs))]
    checked: list[tuple[int, jsonevent.JsonEvent]] = []
    for i, doc in enumerate(docs):
        try:
            checked.append((i, jsonevent.JsonEvent.model_validate(doc)))
        except ValidationError as exc:
            results[i].errors = _localised(jsonevent.field_errors(exc), exc)
    scope: dict[int, Device] = {}
    if device is None:  # one look-up for every device named, valid event or not
        named = {n for n in map(_named, docs) if n is not None}
        scope = devices_in_scope(named) if named else {}
    events: list[Incoming] = []
    placed: list[int] = []
    for i, event in checked:
        if device is None and event.device is None:
            results[i].errors = [
                {"loc": ["device"], "msg": gettext("以用户身份提交时每条事件必须填写设备 id。"), "type": "missing"}
            ]
            continue
        sender = (device if event.device in (None, device.pk) else None) if device else scope.get(event.device or 0)
        if sender is None:
            results[i].errors = [unknown_device_error()]
            continue
        try:
            events.append(normalise(event.to_incoming(sender, c.Source.API, payload.received_at), payload.received_at))
            placed.append(i)
        except Rejected as invalid:
            results[i].errors = [{"loc": [], "msg": invalid.detail, "type": "invalid"}]
    for i, outcome in zip(placed, store(events), strict=True):
        results[i].status, results[i].event_id = outcome.status, outcome.event_id
    for result in results:
        if result.status == REJECTED:
            doc = docs[result.index]
            owner = device if device else scope.get(_named(doc) or 0)
            if any(e["type"] == "unknown_device" for e in result.errors):
                owner = None  # kept where only platform administrators see it
            result.dead_letter = _keep(payload, doc, result, owner)
    return results


def _named(doc: Any) -> int | None:
    value = doc.get("device") if isinstance(doc, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= jsonevent.MAX_ID else None


def _keep(payload: Payload, doc: Any, result: Result, device: Device | None) -> int | None:
    unknown = any(e["type"] == "unknown_device" for e in result.errors)
    reason = c.DeadLetterReason.UNKNOWN_DEVICE if unknown else c.DeadLetterReason.INVALID
    detail = jsonevent.describe(result.errors)
    try:
        body = orjson.dumps(doc)
    except (TypeError, orjson.JSONEncodeError):
        body = repr(doc).encode()
    letter = deadletters.record(
        payload, Rejected(reason, f"events[{result.index}]: {detail}"), device=device, body=redact(body)
    )
    return letter.pk if letter else None


class BatchAdapter:
    """Replays a kept event of the batch API (each dead letter holds one event). With `device`
    (the letter's, or one named by whoever replays it) the event must be that device's; without,
    the event's own `device` is looked up — replaying a letter with no device is for platform
    administrators only (services.replay_dead_letter)."""

    source: str = c.Source.API

    def parse(self, payload: Payload, device: Device | None) -> Parsed:
        doc = jsonevent.decode(payload.body)
        docs = doc["events"] if isinstance(doc, dict) and isinstance(doc.get("events"), list) else [doc]
        parsed = Parsed()
        for item in docs:
            try:
                parsed.events.append(self.event(item, device, payload.received_at))
            except Rejected as rejected:
                parsed.rejects.append((rejected, redact(orjson.dumps(item))))
        if not parsed.events and len(parsed.rejects) == 1:
            raise parsed.rejects[0][0]
        return parsed

    def event(self, doc: Any, device: Device | None, received_at: dt.datetime) -> Incoming:
        event = jsonevent.validate(doc)
        if device is None and event.device is not None:
            device = Device.objects.filter(pk=event.device).only("id", "compound_id").first()
        if device is None or event.device not in (None, device.pk):
            raise Rejected(
                c.DeadLetterReason.UNKNOWN_DEVICE, f"device: {event.device} 设备不存在或不符 / unknown device"
            )
        return event.to_incoming(device, c.Source.API, received_at)


ADAPTER = BatchAdapter()
