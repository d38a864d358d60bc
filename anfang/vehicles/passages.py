"""Passages from ANPR events (issue 8 §3; Art 9: 出入口…车辆号牌识别; Art 33(2)): the STORED_HOOKS
hook turning stored `anpr_passage` events into `Passage` rows inside the event write transaction,
so that an event and its passage commit together or not at all.

Nothing a camera sends is dropped: a device with no entrance gives a passage without one (flagged
`no_entrance`), a plate that is no plate is kept as read (`plate_valid=False`, for the guard to
correct). Duplicated camera events never reach the hook: the event layer stores an event once and
hands the hook only what it stored.

Per batch the hook costs a fixed number of queries whatever its size: the devices, the list
matches (barrier.match_many), the lots' occupancy, the insert (COPY on PostgreSQL), the stays, the
visitor passes used, the uplink outbox — plus one alarm per watch-list hit."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from anfang.devices.models import Device
from anfang.events.choices import EventKind
from anfang.events.ingest import Incoming

from . import choices as c
from .barrier import Match, Watch, decide, lots_full, match_many
from .bulk import copy_insert, is_postgres
from .models import Passage, VisitorPass, WatchEntry
from .occupancy import record_stays
from .plates import read_plate

log = logging.getLogger(__name__)

IN_WORDS = {"in", "enter", "entry", "forward", "obverse", "approach", "1", "驶入", "入"}
OUT_WORDS = {"out", "exit", "leave", "reverse", "away", "2", "驶出", "出"}
PLATE_WORDS = ("plate", "车牌")


def min_confidence() -> int:
    """Reads below this confidence are marked for the guard to confirm."""
    return int(getattr(settings, "ANFANG_VEHICLES_MIN_CONFIDENCE", 80))


def direction_of(value: Any) -> str:
    word = str(value or "").strip().lower()
    if word in IN_WORDS:
        return c.Direction.IN
    if word in OUT_WORDS:
        return c.Direction.OUT
    return c.Direction.UNKNOWN


def confidence_of(value: Any) -> int | None:
    """0–100, or None when the camera sent none or something that is not a number."""
    try:
        number = float(str(value).strip().rstrip("%"))
    except (TypeError, ValueError):
        return None
    if number != number:  # NaN
        return None
    if 0 < number <= 1 and "." in str(value):  # some firmware sends 0.93
        number *= 100
    return max(0, min(100, round(number)))


def pictures_of(media: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The event's pictures with a role: `plate` when its name (or the vendor's picture type)
    says plate, else `scene`. `index` is the picture's place in Event.media, by which the event
    picture view serves it (scope-checked, audited)."""
    out = []
    for index, ref in enumerate(media or []):
        if not isinstance(ref, dict) or not str(ref.get("type", "")).startswith("image/"):
            continue
        label = f"{ref.get('role', '')} {ref.get('name', '')}".lower()
        role = c.PictureRole.PLATE if any(w in label for w in PLATE_WORDS) else c.PictureRole.SCENE
        out.append({**ref, "role": str(role), "index": index})
    return out


def _places(device_ids: set[int]) -> dict[int, tuple[int | None, int | None, int | None, int | None]]:
    """device → (entrance, parking entrance, parking lot, lot spaces)."""
    rows = Device.objects.filter(pk__in=device_ids).values_list(
        "pk",
        "entrance_id",
        "parking_entrance_id",
        "parking_lot_id",
        "parking_entrance__parking_lot_id",
        "parking_lot__spaces",
        "parking_entrance__parking_lot__spaces",
    )
    return {r[0]: (r[1], r[2], r[3] or r[4], r[5] if r[3] else r[6]) for r in rows}


# Passage fields in model order with their defaults: instances are made positionally, Django's
# fast path (keyword construction costs several times more, at thousands of passages a second).
ATTNAMES = [f.attname for f in Passage._meta.concrete_fields]
DEFAULTS = {f.attname: f.get_default() for f in Passage._meta.concrete_fields}


def build(event_id: int, e: Incoming, place: tuple | None, threshold: int) -> Passage:
    payload = e.payload or {}
    raw = str(payload.get("plate") or "")
    read = read_plate(raw, str(payload.get("plate_color") or payload.get("plate_colour") or ""))
    confidence = confidence_of(payload.get("confidence"))
    entrance, parking_entrance, lot, _spaces = place or (None, None, None, None)
    low = confidence is not None and confidence < threshold
    values = {
        **DEFAULTS,
        "id": None,
        "compound_id": e.compound_id,
        "entrance_id": entrance,
        "parking_entrance_id": parking_entrance,
        "parking_lot_id": lot,
        "device_id": e.device_id,
        "event_id": event_id,
        "captured_at": e.occurred_at,
        "received_at": e.received_at or timezone.now(),
        "plate": read.plate,
        "plate_raw": raw[:64],
        "plate_valid": read.valid,
        "plate_series": str(read.series)[:16],
        "plate_colour": read.colour[:16],
        "plate_skeleton": read.skeleton[:16],
        "confidence": confidence,
        # A guard looks at what the camera was unsure of, and at what is not a plate at all.
        "needs_confirmation": low or not read.valid,
        "direction": direction_of(payload.get("direction")),
        "lane": str(payload.get("lane") or "")[:16],
        "pictures": pictures_of(e.media),
    }
    return Passage(*[values[name] for name in ATTNAMES])  # type: ignore[misc]


def _enqueue_uplink(passages: Sequence[Passage]) -> None:
    """Queue each passage for the police platform (Art 9) in the same transaction (outbox)."""
    from anfang.uplink import gat1400
    from anfang.uplink.services import Outgoing, enqueue_many

    enqueue_many(
        [
            Outgoing("motor_vehicle", p.pk, p.compound_id, gat1400.motor_vehicle(p), gat1400.idempotency_key(p))
            for p in passages
        ]
    )


def _count_visitor_entries(passages: Sequence[Passage], matches: dict[tuple[int, str], Match]) -> None:
    uses: Counter[int] = Counter()
    last: dict[int, dt.datetime] = {}
    for p in passages:
        match = matches.get((p.compound_id, p.plate))
        if match and match.visitor and p.decision_reason == c.DecisionReason.VISITOR:
            uses[match.visitor] += 1
            last[match.visitor] = max(p.captured_at, last.get(match.visitor, p.captured_at))
    if not uses:
        return
    if is_postgres():  # one statement for the batch
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE vehicles_visitorpass v SET uses = v.uses + u.n, last_entry_at = u.at, "
                "first_entry_at = COALESCE(v.first_entry_at, u.at) "
                "FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[]) AS u(id, n, at) WHERE v.id = u.id",
                [list(uses), [uses[pk] for pk in uses], [last[pk] for pk in uses]],
            )
        return
    for pk, n in uses.items():
        VisitorPass.objects.filter(pk=pk).update(uses=F("uses") + n, last_entry_at=last[pk])
        VisitorPass.objects.filter(pk=pk, first_entry_at__isnull=True).update(first_entry_at=last[pk])


def watch_hit(p: Passage, w: Watch, at: dt.datetime) -> None:
    """A watched plate was seen: count the hit and raise the alarm on the duty console (in the
    caller's transaction)."""
    from anfang.alarms.choices import PlatformKind
    from anfang.alarms.services import raise_platform_alarm

    plate = p.shown_plate
    WatchEntry.objects.filter(pk=w.pk).update(hits=F("hits") + 1, last_hit_at=at)
    raise_platform_alarm(
        compound_id=p.compound_id,
        kind=PlatformKind.WATCHLIST_HIT,
        at=at,
        subject=f"{plate} 布控车辆：{w.reason}"[:255],
        link=reverse("vehicles:passage", args=[p.pk]),
        device_id=p.device_id,
    )
    if w.notify_station:
        # No push channel to the station exists yet (the uplink carries passages only): the
        # station's officers see the hit on the watch list and the alarm in their statistics.
        log.warning("watch-list hit %s at compound %s: the station asked to be notified", plate, p.compound_id)


def _watch_hits(passages: Sequence[Passage], matches: dict[tuple[int, str], Match]) -> None:
    for p in passages:
        match = matches.get((p.compound_id, p.plate))
        if match and match.watch:
            watch_hit(p, match.watch, p.received_at)


def on_stored(stored: list[tuple[int, Incoming]]) -> list[Passage]:
    """STORED_HOOKS entry: passages for the batch's stored ANPR events."""
    anpr = [(event_id, e) for event_id, e in stored if e.kind == EventKind.ANPR_PASSAGE]
    if not anpr:
        return []
    places = _places({e.device_id for _, e in anpr})
    threshold = min_confidence()
    passages = [build(event_id, e, places.get(e.device_id), threshold) for event_id, e in anpr]
    now = timezone.now()
    matches = match_many({(p.compound_id, p.plate) for p in passages if p.plate}, now)
    spaces = {place[2]: place[3] for place in places.values() if place[2] is not None and place[3] is not None}
    full = lots_full(spaces, now) if spaces else set()
    for p in passages:
        match = matches.get((p.compound_id, p.plate), Match())
        decided = decide(p.plate, p.plate_valid, p.direction, match, p.parking_lot_id in full)
        p.decision, p.decision_reason, p.list_match = decided.decision, decided.reason, decided.list_match
    # COPY with ids drawn first: the stays, the alarms and the outbox refer to the passages.
    copy_insert(passages, assign_ids=True)
    record_stays(passages)
    _count_visitor_entries(passages, matches)
    _watch_hits(passages, matches)
    _enqueue_uplink(passages)
    return passages
