"""Barrier decisions (Art 11: 小区出入口应当设置电子道闸等门禁管理系统): for a plate at an entrance,
allow / deny / ask the guard, with the reason. One rule (`decide`) serves the gate controller's
question (`decide_at`, a few indexed queries) and the decision recorded on every passage (the
ANPR hook, in batches: `match_many`).

The watch list is read from a short per-process cache (it is small, changes rarely and is read on
every passage); residents and visitor passes are read from their indexes each time, so that a
single-entry pass used a second ago is not accepted again."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from . import choices as c
from .models import ParkingStay, ResidentVehicle, VisitorPass, WatchEntry
from .plates import read_plate

D, R, L = c.Decision, c.DecisionReason, c.ListMatch


def stale_after() -> dt.timedelta:
    """An entry never exited is no longer counted as parked after this many days (occupancy)."""
    return dt.timedelta(days=getattr(settings, "ANFANG_VEHICLES_STALE_DAYS", 7))


# ---------------------------------------------------------------- the watch list, cached


@dataclass(frozen=True)
class Watch:
    pk: int
    plate: str
    reason: str
    expires_at: dt.datetime | None
    notify_station: bool


@dataclass
class WatchIndex:
    exact: dict[str, list[Watch]] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], Watch]] = field(default_factory=list)

    def hit(self, plate: str, at: dt.datetime) -> Watch | None:
        if not plate:
            return None
        for w in self.exact.get(plate, ()):
            if w.expires_at is None or at < w.expires_at:
                return w
        for pattern, w in self.patterns:
            if (w.expires_at is None or at < w.expires_at) and pattern.fullmatch(plate):
                return w
        return None


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """`?` one character, `*` any run (possibly empty); everything else literal."""
    return re.compile("".join("." if ch == "?" else ".*" if ch == "*" else re.escape(ch) for ch in pattern))


class _WatchCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[int, tuple[float, WatchIndex]] = {}

    @staticmethod
    def ttl() -> float:
        return float(getattr(settings, "ANFANG_VEHICLES_LIST_CACHE_SECONDS", 10))

    def get_many(self, compound_ids: Iterable[int]) -> dict[int, WatchIndex]:
        now = time.monotonic()
        wanted = set(compound_ids)
        with self.lock:
            found = {cid: e[1] for cid, e in self.entries.items() if cid in wanted and e[0] > now}
        missing = wanted - found.keys()
        if missing:
            loaded: dict[int, WatchIndex] = {cid: WatchIndex() for cid in missing}
            rows = WatchEntry.objects.filter(compound_id__in=missing).filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
            )
            for row in rows.values_list("pk", "compound_id", "plate", "reason", "expires_at", "notify_station"):
                w = Watch(row[0], row[2], row[3], row[4], row[5])
                index = loaded[row[1]]
                if "?" in w.plate or "*" in w.plate:
                    index.patterns.append((pattern_regex(w.plate), w))
                else:
                    index.exact.setdefault(w.plate, []).append(w)
            expires = now + self.ttl()
            with self.lock:
                for cid, index in loaded.items():
                    self.entries[cid] = (expires, index)
            found.update(loaded)
        return found

    def forget(self, compound_id: int | None = None) -> None:
        with self.lock:
            if compound_id is None:
                self.entries.clear()
            else:
                self.entries.pop(compound_id, None)


WATCH_CACHE = _WatchCache()


# ---------------------------------------------------------------- matching a plate to the lists


@dataclass(frozen=True)
class Match:
    resident: int | None = None  # ResidentVehicle pk, valid today
    resident_lot: int | None = None
    visitor: int | None = None  # VisitorPass pk usable now
    watch: Watch | None = None

    @property
    def list_match(self) -> str:
        if self.watch:
            return L.WATCH
        if self.resident:
            return L.RESIDENT
        if self.visitor:
            return L.VISITOR
        return L.NONE


def match_many(pairs: Iterable[tuple[int, str]], at: dt.datetime) -> dict[tuple[int, str], Match]:
    """Matches of (compound id, plate) pairs at `at`: two indexed queries and the cached watch
    lists, however many pairs."""
    pairs = {(cid, plate) for cid, plate in pairs if plate}
    if not pairs:
        return {}
    compound_ids = {cid for cid, _ in pairs}
    plates = {plate for _, plate in pairs}
    day = timezone.localdate(at)
    residents: dict[tuple[int, str], tuple[int, int | None]] = {}
    for pk, cid, plate, lot in (
        ResidentVehicle.objects.filter(compound_id__in=compound_ids, plate__in=plates, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .values_list("pk", "compound_id", "plate", "parking_lot_id")
    ):
        residents[(cid, plate)] = (pk, lot)
    visitors: dict[tuple[int, str], int] = {}
    for pk, cid, plate, kind, uses in (
        VisitorPass.objects.filter(compound_id__in=compound_ids, plate__in=plates, valid_from__lte=at, valid_to__gte=at)
        .order_by("valid_to")
        .values_list("pk", "compound_id", "plate", "kind", "uses")
    ):
        if kind == c.PassKind.MULTIPLE or uses == 0:
            visitors.setdefault((cid, plate), pk)
    watches = WATCH_CACHE.get_many(compound_ids)
    out = {}
    for cid, plate in pairs:
        resident = residents.get((cid, plate))
        out[(cid, plate)] = Match(
            resident=resident[0] if resident else None,
            resident_lot=resident[1] if resident else None,
            visitor=visitors.get((cid, plate)),
            watch=watches[cid].hit(plate, at),
        )
    return out


# One round trip for the gate's question: the resident and the visitor passes of one plate, each
# through its (compound, plate) index. Raw SQL: the ORM's query compilation would cost more than
# the two index probes.
ONE_PLATE_SQL = (
    "SELECT 'r', id, parking_lot_id, '', 0 FROM vehicles_residentvehicle "
    "WHERE compound_id = %s AND plate = %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to >= %s) "
    "UNION ALL "
    "SELECT 'v', id, NULL, kind, uses FROM vehicles_visitorpass "
    "WHERE compound_id = %s AND plate = %s AND valid_from <= %s AND valid_to >= %s"
)


def match_one(compound_id: int, plate: str, at: dt.datetime) -> Match:
    """`match_many` for one plate, in one query."""
    if not plate:
        return Match()
    day = timezone.localdate(at)
    resident = resident_lot = visitor = None
    with connection.cursor() as cursor:
        cursor.execute(ONE_PLATE_SQL, [compound_id, plate, day, day, compound_id, plate, at, at])
        for source, pk, lot, kind, uses in cursor.fetchall():
            if source == "r":
                resident, resident_lot = pk, lot
            elif visitor is None and (kind == c.PassKind.MULTIPLE or uses == 0):
                visitor = pk
    watch = WATCH_CACHE.get_many([compound_id])[compound_id].hit(plate, at)
    return Match(resident=resident, resident_lot=resident_lot, visitor=visitor, watch=watch)


def lots_full(lot_spaces: Mapping[int, int | None], at: dt.datetime) -> set[int]:
    """The lots (of those given, with their spaces) whose counted stays fill every space."""
    sized = {lot: spaces for lot, spaces in lot_spaces.items() if spaces}
    if not sized:
        return set()
    counts = dict(
        ParkingStay.objects.filter(
            parking_lot_id__in=sized, exited_at__isnull=True, superseded=False, entered_at__gte=at - stale_after()
        )
        .values("parking_lot_id")
        .annotate(n=Count("id"))
        .values_list("parking_lot_id", "n")
    )
    return {lot for lot, spaces in sized.items() if counts.get(lot, 0) >= spaces}


# ---------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Decision:
    decision: str
    reason: str
    list_match: str

    @property
    def reason_label(self) -> str:
        return str(R(self.reason).label)


def decide(plate: str, valid: bool, direction: str, match: Match, lot_full: bool) -> Decision:
    """The barrier rule. A watch-listed car is held for the guard (the alarm is raised elsewhere),
    never turned away by the machine: refusing it would only warn the driver. Residents enter even
    when the lot is full (their space is theirs); visitors and unknown cars do not."""
    if match.watch:
        return Decision(D.ASK, R.WATCH, L.WATCH)
    if direction == c.Direction.OUT:
        return Decision(D.ALLOW, R.EXIT, match.list_match)
    if not plate or not valid:
        return Decision(D.ASK, R.UNREADABLE, match.list_match)
    if match.resident:
        return Decision(D.ALLOW, R.RESIDENT, L.RESIDENT)
    if lot_full:
        return Decision(D.DENY, R.LOT_FULL, match.list_match)
    if match.visitor:
        return Decision(D.ALLOW, R.VISITOR, L.VISITOR)
    return Decision(D.ASK, R.UNKNOWN, L.NONE)


@dataclass(frozen=True)
class Answer:
    decision: Decision
    plate: str
    plate_valid: bool
    problems: list[str]


def decide_at(
    compound_id: int,
    plate_raw: str,
    *,
    direction: str = c.Direction.IN,
    colour: str = "",
    parking_lot: tuple[int, int | None] | None = None,
    at: dt.datetime | None = None,
) -> Answer:
    """The gate controller's question: a plate at an entrance (`parking_lot` = (lot id, spaces)
    when the entrance leads into a lot)."""
    at = at or timezone.now()
    read = read_plate(plate_raw, colour)
    match = match_one(compound_id, read.plate, at)
    full = False
    if parking_lot and direction != c.Direction.OUT and not match.resident and not match.watch:
        full = parking_lot[0] in lots_full({parking_lot[0]: parking_lot[1]}, at)
    return Answer(decide(read.plate, read.valid, direction, match, full), read.plate, read.valid, list(read.problems))
