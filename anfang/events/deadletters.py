"""Dead letters: everything a device sent that could not become an event is kept verbatim with the
reason (issue 5 §8), so it can be looked at, fixed (register the device, extend a mapping) and
replayed. When the database is down they go to the spool like events do.

Credentials are not kept in plain text: a bearer token is cut to its prefix and a secret push path
to a hash prefix, since the dead-letter list is read by people who must not learn them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import threading
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from anfang.devices.models import Device

from . import choices as c
from . import spool
from .adapters.base import Payload
from .ingest import Rejected
from .models import DeadLetter
from .writer import UNAVAILABLE, _drop_broken_connection

# Unauthenticated pushes are the one kind a stranger can produce at will: keep the first few per
# source address and minute, count the rest on the last one kept.
UNAUTHENTICATED_PER_MINUTE = 5
_limit_lock = threading.Lock()
_recent: dict[str, tuple[int, int, int | None, int]] = {}  # addr → (minute, kept, last id, suppressed)

SECRET_HEADERS = {"authorization", "cookie", "x-device-token", "proxy-authorization"}


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    clean = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            value = re.sub(r"^(\S+\s+)?(.{0,12}).*$", lambda m: (m.group(1) or "") + m.group(2) + "…", value)
        clean[name] = value[:1024]
    return clean


def redact_endpoint(endpoint: str, secret: str | None) -> str:
    if not secret:
        return endpoint
    tag = "~" + hashlib.sha256(secret.encode()).hexdigest()[:8]
    return endpoint.replace(secret, tag)


def record(
    payload: Payload,
    rejected: Rejected,
    *,
    device: Device | None = None,
    body: bytes | None = None,
    secret: str | None = None,
    limited: bool = False,
) -> DeadLetter | None:
    """Keep `body` (default: the whole payload) with the reason. Returns the dead letter, or None
    when it was spooled or counted under the rate limit. Raises OSError if it cannot be kept.
    Unauthenticated payloads are rate-limited, and so is anything else a stranger can send
    (`limited`: e.g. an MQTT message too broken to read the device token from)."""
    data = payload.body if body is None else body
    limit = settings.ANFANG_MAX_DEAD_LETTER_BYTES
    fields: dict[str, Any] = {
        "received_at": payload.received_at,
        "source": payload.source,
        "device_id": device.pk if device else None,
        "compound_id": device.compound_id if device else None,
        "remote_addr": payload.remote_addr,
        "endpoint": redact_endpoint(payload.endpoint, secret)[:255],
        "content_type": payload.content_type[:255],
        "headers": redact_headers(payload.headers),
        "body": bytes(data[:limit]),
        "body_size": len(data),
        "truncated": len(data) > limit,
        "reason": rejected.reason,
        "detail": rejected.detail[:4000],
    }
    limited = limited or rejected.reason == c.DeadLetterReason.UNAUTHENTICATED
    if limited and _over_limit(payload):
        return None
    try:
        with transaction.atomic():
            letter = DeadLetter.objects.create(**fields)
            if device is not None:
                from anfang.devices.models import DeviceHealth

                DeviceHealth.objects.get_or_create(device_id=device.pk)
                DeviceHealth.objects.filter(device_id=device.pk).update(dead_letters=F("dead_letters") + 1)
    except UNAVAILABLE:
        _drop_broken_connection()
        fields["received_at"] = fields["received_at"].isoformat()
        fields["body"] = base64.b64encode(fields["body"]).decode()
        spool.append("dead_letters", [fields])
        return None
    if limited:
        _kept(payload, letter.pk)
    return letter


def _minute(payload: Payload) -> int:
    return int(payload.received_at.timestamp() // 60)


def _over_limit(payload: Payload) -> bool:
    addr = payload.remote_addr or "?"
    with _limit_lock:
        minute, kept, last_id, suppressed = _recent.get(addr, (_minute(payload), 0, None, 0))
        if minute != _minute(payload):
            _flush_suppressed(last_id, suppressed)
            minute, kept, last_id, suppressed = _minute(payload), 0, None, 0
        if kept < UNAUTHENTICATED_PER_MINUTE:
            _recent[addr] = (minute, kept, last_id, suppressed)
            return False
        suppressed += 1
        if suppressed % 100 == 0:  # keep the count close to true without a write per refusal
            _flush_suppressed(last_id, 100)
            _recent[addr] = (minute, kept, last_id, 0)
        else:
            _recent[addr] = (minute, kept, last_id, suppressed)
        if len(_recent) > 10_000:
            _recent.clear()
        return True


def _kept(payload: Payload, letter_id: int) -> None:
    addr = payload.remote_addr or "?"
    with _limit_lock:
        minute, kept, _, suppressed = _recent.get(addr, (_minute(payload), 0, None, 0))
        _recent[addr] = (minute, kept + 1, letter_id, suppressed)


def _flush_suppressed(letter_id: int | None, count: int) -> None:
    if letter_id and count:
        DeadLetter.objects.filter(pk=letter_id).update(suppressed=F("suppressed") + count)


def restore_spooled(records: list[dict[str, Any]]) -> None:
    for fields in records:
        fields = dict(fields)
        fields["received_at"] = dt.datetime.fromisoformat(fields["received_at"])
        fields["body"] = base64.b64decode(fields["body"])
        DeadLetter.objects.create(**fields)


def as_payload(letter: DeadLetter) -> Payload:
    """The stored payload, ready for its adapter again."""
    return Payload(
        body=bytes(letter.body),
        content_type=letter.content_type,
        received_at=letter.received_at,
        source=letter.source,
        headers=dict(letter.headers),
        remote_addr=letter.remote_addr,
        endpoint=letter.endpoint,
    )
