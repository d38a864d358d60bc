"""The access audit chain (Art 33(5): recorded information must not leak or be misused).

`record` appends one entry for every view, search and export of pictures, vehicle data or personal
data; `verify` walks the chain and names the first entry that was edited, deleted or moved.
Appends are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite serialises
writers anyway) so that each entry links to exactly one predecessor."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEntry

GENESIS = "0" * 64
LOCK_KEY = 0x616E66616E67  # "anfang": the advisory lock id of the chain's head


def _digest(seq: int, at: dt.datetime, fields: dict[str, Any], prev_hash: str) -> str:
    body = orjson.dumps(
        [seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), fields, prev_hash],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "compound_id": entry.compound_id,
        "purpose": entry.purpose,
        "detail": entry.detail,
        "remote_addr": entry.remote_addr,
    }


def record(
    actor: Any,
    action: str,
    object_type: str,
    object_id: object = "",
    *,
    compound_id: int | None = None,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
    remote_addr: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry. `object_type` names what was accessed ("vehicles.passage", "events.picture",
    "vehicles.search"), `detail` what exactly (the query, the row count, the file). Call it in the
    request that does the access: a failure to audit fails the access."""
    authenticated = getattr(actor, "is_authenticated", False)
    entry = AuditEntry(
        at=at or timezone.now(),
        actor_id=actor.pk if authenticated else None,
        actor_name=actor.get_username() if authenticated else "",
        action=action,
        object_type=object_type[:64],
        object_id=str(object_id)[:128],
        compound_id=compound_id,
        purpose=purpose[:255],
        detail=orjson.loads(orjson.dumps(detail or {}, default=str)),
        remote_addr=remote_addr,
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        entry.seq, entry.prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        entry.hash = _digest(entry.seq, entry.at, _fields(entry), entry.prev_hash)
        entry.save(force_insert=True)
    return entry


def record_request(request: Any, action: str, object_type: str, object_id: object = "", **kwargs: Any) -> AuditEntry:
    """`record` for a web or API request: the actor and source address come from the request."""
    return record(request.user, action, object_type, object_id, remote_addr=request.META.get("REMOTE_ADDR"), **kwargs)


@dataclass(frozen=True)
class Break:
    """Where the chain stops being intact, and why."""

    seq: int
    problem: str  # "edited" | "missing" | "reordered"
    detail: str


@dataclass(frozen=True)
class Verification:
    checked: int
    breaks: list[Break]

    @property
    def intact(self) -> bool:
        return not self.breaks


def _entries(batch: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        page = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not page:
            return
        yield from page
        last = page[-1].seq


def verify() -> Verification:
    """Walk the chain in sequence order. An edited entry no longer matches its own hash; a deleted
    one leaves a gap in the sequence and its successor's link dangling; entries swapped in order
    link to the wrong predecessors."""
    breaks: list[Break] = []
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    for entry in _entries():
        checked += 1
        if entry.seq != expected_seq:
            breaks.append(Break(expected_seq, "missing", f"entries {expected_seq}–{entry.seq - 1} are missing"))
        if _digest(entry.seq, entry.at, _fields(entry), entry.prev_hash) != entry.hash:
            breaks.append(Break(entry.seq, "edited", "the entry's content does not match its hash"))
        elif entry.prev_hash != prev_hash and entry.seq == expected_seq:
            breaks.append(Break(entry.seq, "reordered", "the entry does not link to the entry before it"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return Verification(checked, breaks)
