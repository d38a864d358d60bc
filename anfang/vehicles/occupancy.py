"""Parking occupancy from entries and exits (issue 8 §5), and visitors who stayed past their pass.

Every entry passage opens a ParkingStay for the car in its lot (or, at a compound entrance without
a lot, in the compound); the next exit of the same car there closes it. Unmatched reads are kept
and shown, never guessed away:
- an exit with no open stay becomes a stay with an exit and no entry (counted as "exit without entry");
- a second entry while a stay is open means the exit between them was missed: the older stay is
  marked superseded (no longer counted) and a new one opened;
- an entry never exited for `stale_after()` days is no longer counted as parked, but listed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from anfang.compounds.models import ParkingLot

from . import choices as c
from .barrier import stale_after
from .bulk import copy_insert, is_postgres
from .models import ParkingStay, Passage, VisitorPass

Key = tuple[int, int | None, str]  # compound, lot (None: the compound itself), plate


def _key(p: Passage) -> Key:
    return (p.compound_id, p.parking_lot_id, p.shown_plate)


def record_stays(passages: Sequence[Passage]) -> None:
    """Open and close stays for a batch of passages (inside the passage transaction): one read of
    the open stays concerned, one insert, one update."""
    moving = [
        p
        for p in passages
        if p.plate_valid
        and p.shown_plate
        and p.direction in (c.Direction.IN, c.Direction.OUT)
        and (p.entrance_id or p.parking_entrance_id)
    ]
    if not moving:
        return
    moving.sort(key=lambda p: (p.captured_at, p.pk or 0))
    keys = {_key(p) for p in moving}
    open_stays: dict[Key, ParkingStay] = {}
    lots = {k[1] for k in keys}
    query = ParkingStay.objects.filter(
        compound_id__in={k[0] for k in keys},
        plate__in={k[2] for k in keys},
        exited_at__isnull=True,
        superseded=False,
    )
    query = query.filter(Q(parking_lot_id__in=[lot for lot in lots if lot]) | Q(parking_lot__isnull=True))
    for stay in query.order_by("entered_at"):
        open_stays[(stay.compound_id, stay.parking_lot_id, stay.plate)] = stay
    created: list[ParkingStay] = []
    changed: dict[int, ParkingStay] = {}
    for p in moving:
        key = _key(p)
        current = open_stays.get(key)
        if p.direction == c.Direction.IN:
            if current is not None:
                current.superseded = True
                if current.pk:
                    changed[current.pk] = current
            stay = ParkingStay(
                compound_id=p.compound_id,
                parking_lot_id=p.parking_lot_id,
                plate=key[2],
                list_match=p.list_match,
                entered_at=p.captured_at,
                entry_passage_id=p.pk,
            )
            created.append(stay)
            open_stays[key] = stay
        elif current is not None:
            current.exited_at = p.captured_at
            current.exit_passage_id = p.pk
            if current.pk:
                changed[current.pk] = current
            del open_stays[key]
        else:
            created.append(
                ParkingStay(
                    compound_id=p.compound_id,
                    parking_lot_id=p.parking_lot_id,
                    plate=key[2],
                    list_match=p.list_match,
                    exited_at=p.captured_at,
                    exit_passage_id=p.pk,
                )
            )
    copy_insert(created, assign_ids=False)
    if not changed:
        return
    if not is_postgres():
        ParkingStay.objects.bulk_update(changed.values(), ["superseded", "exited_at", "exit_passage_id"])
        return
    stays = list(changed.values())
    with connection.cursor() as cursor:  # one statement for the batch
        cursor.execute(
            "UPDATE vehicles_parkingstay s SET superseded = u.superseded, exited_at = u.exited_at, "
            "exit_passage_id = u.exit_passage_id "
            "FROM unnest(%s::bigint[], %s::bool[], %s::timestamptz[], %s::bigint[]) "
            "AS u(id, superseded, exited_at, exit_passage_id) WHERE s.id = u.id",
            [
                [s.pk for s in stays],
                [s.superseded for s in stays],
                [s.exited_at for s in stays],
                [s.exit_passage_id for s in stays],
            ],
        )


# ---------------------------------------------------------------- reports


@dataclass
class LotOccupancy:
    lot: ParkingLot | None
    spaces: int | None
    parked: int  # open stays younger than stale_after()
    residents: int
    visitors: int
    stale: int  # entries never exited for stale_after() or more
    exits_without_entry: int  # in the period
    missed_exits: int  # superseded stays in the period

    @property
    def free(self) -> int | None:
        return None if self.spaces is None else max(0, self.spaces - self.parked)

    @property
    def percent(self) -> int | None:
        if not self.spaces:
            return None
        return min(100, round(100 * self.parked / self.spaces))


def occupancy(
    compound_id: int, *, now: dt.datetime | None = None, since: dt.datetime | None = None
) -> list[LotOccupancy]:
    """Occupancy of each lot of the compound (and of the compound's own entrances, lot None), with
    the unmatched reads since `since` (default: the last 24 hours)."""
    now = now or timezone.now()
    since = since or now - dt.timedelta(days=1)
    fresh_after = now - stale_after()
    stays = ParkingStay.objects.filter(compound_id=compound_id)
    rows = (
        stays.values("parking_lot_id")
        .annotate(
            parked=Count("id", filter=Q(exited_at__isnull=True, superseded=False, entered_at__gte=fresh_after)),
            residents=Count(
                "id",
                filter=Q(
                    exited_at__isnull=True,
                    superseded=False,
                    entered_at__gte=fresh_after,
                    list_match=c.ListMatch.RESIDENT,
                ),
            ),
            visitors=Count(
                "id",
                filter=Q(
                    exited_at__isnull=True,
                    superseded=False,
                    entered_at__gte=fresh_after,
                    list_match=c.ListMatch.VISITOR,
                ),
            ),
            stale=Count("id", filter=Q(exited_at__isnull=True, superseded=False, entered_at__lt=fresh_after)),
            orphans=Count("id", filter=Q(entered_at__isnull=True, exited_at__gte=since)),
            missed=Count("id", filter=Q(superseded=True, entered_at__gte=since)),
        )
        .order_by()
    )
    by_lot: dict[int | None, Any] = {r["parking_lot_id"]: r for r in rows}
    lots = list(ParkingLot.objects.filter(compound_id=compound_id).order_by("name", "id"))
    out = []
    for lot in [*lots, None]:
        r = by_lot.get(lot.pk if lot else None)
        if lot is None and r is None:
            continue
        r = r or {}
        out.append(
            LotOccupancy(
                lot=lot,
                spaces=lot.spaces if lot else None,
                parked=r.get("parked", 0),
                residents=r.get("residents", 0),
                visitors=r.get("visitors", 0),
                stale=r.get("stale", 0),
                exits_without_entry=r.get("orphans", 0),
                missed_exits=r.get("missed", 0),
            )
        )
    return out


def unmatched(compound_id: int, *, now: dt.datetime | None = None, since: dt.datetime | None = None):
    """The stays behind the unmatched counts: exits without entry since `since`, and entries
    never exited for stale_after() (newest first)."""
    now = now or timezone.now()
    since = since or now - dt.timedelta(days=1)
    stays = ParkingStay.objects.filter(compound_id=compound_id).select_related("parking_lot")
    return stays.filter(
        Q(entered_at__isnull=True, exited_at__gte=since)
        | Q(exited_at__isnull=True, superseded=False, entered_at__lt=now - stale_after())
    ).order_by("-exited_at", "-entered_at")


def overstays(compound_ids, *, now: dt.datetime | None = None):
    """Visitor passes whose window has ended while the car is still inside: a stay of that plate
    opened after the pass began, not closed (nor superseded)."""
    now = now or timezone.now()
    inside = ParkingStay.objects.filter(
        compound_id=OuterRef("compound_id"),
        plate=OuterRef("plate"),
        exited_at__isnull=True,
        superseded=False,
        entered_at__gte=OuterRef("valid_from"),
    )
    return (
        VisitorPass.objects.filter(compound_id__in=compound_ids, valid_to__lt=now, uses__gt=0)
        .filter(Exists(inside))
        .select_related("compound", "host_unit")
        .order_by("valid_to")
    )
