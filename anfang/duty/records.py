"""The daily operating record of a compound (监控运行信息, Art 33(1)) and coverage over a range of
days (Art 16). Everything is counted in the database; a record costs the same handful of queries
whether the compound has five devices or five thousand, one alarm or a thousand.

Definitions (method 1; every figure is for one Asia/Shanghai calendar day, judged up to the end
of the day, or up to now for today):
- devices in service: the compound's devices with status 运行中 or 故障 (planned and retired ones
  are not expected to talk) registered before the end of the window;
- a device was heard from when the platform received any event from it in the window, heartbeats
  included; online share = heard / in service; the silent ones are listed with when they were
  last heard from;
- alarms: those raised in the window, by kind and by outcome (the close cause, or still open when
  the record was made); replayed or late alarms (stale) are counted apart and left out of the
  handling times, since nobody was asked to act on them then;
- handling times: median and 90th percentile of raised → acknowledged and raised → closed, over
  the window's alarms acknowledged / closed by the time the record was made;
- police reports: reports made in the window (Art 16: 明确警情后及时向公安机关报警);
- unstaffed minutes: minutes in which at least one of the compound's duty rooms had nobody signed
  on (Art 16: 24小时有人值班); none when the compound has no duty room (Art 15 finds that).

A record made after its day ended is final: kept as it is, never recomputed. Today's record is
provisional and is recomputed when asked for."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from anfang.alarms import choices as ac
from anfang.alarms.models import Alarm, PoliceReport
from anfang.alarms.timing import Percentile, Seconds
from anfang.compounds.models import Compound, DutyRoom
from anfang.devices.choices import DeviceStatus
from anfang.devices.models import Device
from anfang.events.models import Event

from .coverage import LOCAL, DayCoverage, day_bounds, day_coverage, merge
from .models import DailyRecord, DutySession

METHOD = 1
IN_SERVICE = (DeviceStatus.ACTIVE, DeviceStatus.FAULTY)
SILENT_LIMIT = 500  # listed by name; beyond this only counted (the count is exact)
OPEN = "open"  # outcome key of alarms not closed when the record was made


def local_today(now: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(now or timezone.now(), LOCAL).date()


# --- coverage over several days: two queries whatever the number of days ---------------------------


@dataclass
class CompoundDay:
    day: dt.date
    rooms: list[tuple[DutyRoom, DayCoverage]]
    combined: DayCoverage | None  # None: the compound has no duty room

    @property
    def future(self) -> bool:
        return self.combined is not None and self.combined.until <= day_bounds(self.day)[0]


def compound_days(compound: Compound, days: Sequence[dt.date], *, now: dt.datetime | None = None) -> list[CompoundDay]:
    """Coverage of each day (Art 16), per duty room and for the compound: the compound's gaps are
    the union of its rooms' gaps (every duty room must be staffed around the clock)."""
    now = now or timezone.now()
    rooms = list(DutyRoom.objects.filter(compound=compound).order_by("-is_monitoring_centre", "id"))
    if not rooms or not days:
        return [CompoundDay(day, [], None) for day in days]
    start, end = day_bounds(min(days))[0], day_bounds(max(days))[1]
    by_room: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = defaultdict(list)
    sessions = DutySession.objects.filter(duty_room__compound=compound, signed_on_at__lt=min(end, now)).exclude(
        signed_off_at__lte=start
    )
    for room_id, on, off in sessions.values_list("duty_room_id", "signed_on_at", "signed_off_at"):
        by_room[room_id].append((on, off))
    result = []
    for day in days:
        per_room = [(room, day_coverage(day, by_room[room.pk], now)) for room in rooms]
        first = per_room[0][1]
        holes = merge(gap for _room, cov in per_room for gap in cov.gaps)
        staffed = first.staffed if len(per_room) == 1 else []
        result.append(CompoundDay(day, per_room, DayCoverage(day, staffed, holes, first.until)))
    return result


# --- the daily record -----------------------------------------------------------------------------


def _device_figures(compound: Compound, start: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    heard = Exists(Event.objects.filter(device_id=OuterRef("pk"), received_at__gte=start, received_at__lt=until))
    devices = Device.objects.filter(compound=compound, status__in=IN_SERVICE, created_at__lt=until)
    # The Exists goes into the aggregate itself: aggregating over an annotation would wrap the
    # query in a subquery that drops the annotated column.
    counts = devices.aggregate(total=Count("pk"), heard=Count("pk", filter=heard))
    silent = [
        {
            "id": pk,
            "name": name,
            "type": device_type,
            "status": status,
            "last_seen_at": _iso(last_seen) if last_seen else None,
        }
        for pk, name, device_type, status, last_seen in devices.filter(~heard)
        .order_by("name", "pk")
        .values_list("pk", "name", "device_type", "status", "health__last_seen_at")[:SILENT_LIMIT]
    ]
    return {"devices_in_service": counts["total"], "devices_heard": counts["heard"], "silent_devices": silent}


def _alarm_figures(compound: Compound, start: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    alarms = Alarm.objects.filter(compound=compound, raised_at__gte=start, raised_at__lt=until)
    by_kind: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    for kind, status, cause, n in alarms.values_list("kind", "status", "close_cause").annotate(n=Count("pk")):
        by_kind[kind] += n
        by_outcome[cause if status == ac.Status.CLOSED and cause else OPEN] += n
    timed = Q(stale=False)
    to_ack = Seconds("acknowledged_at", "raised_at")
    to_close = Seconds("closed_at", "raised_at")
    figures = alarms.aggregate(
        n_raised=Count("pk"),
        n_stale=Count("pk", filter=Q(stale=True)),
        n_acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        n_closed=Count("pk", filter=Q(closed_at__isnull=False)),
        ack_median=Percentile(to_ack, 0.5, filter=timed),
        ack_p90=Percentile(to_ack, 0.9, filter=timed),
        close_median=Percentile(to_close, 0.5, filter=timed),
        close_p90=Percentile(to_close, 0.9, filter=timed),
    )
    return {
        "alarms_raised": figures["n_raised"],
        "alarms_stale": figures["n_stale"],
        "alarms_acknowledged": figures["n_acknowledged"],
        "alarms_closed": figures["n_closed"],
        "alarms_by_kind": dict(by_kind.most_common()),
        "alarms_by_outcome": dict(by_outcome.most_common()),
        "ack_median_seconds": _round(figures["ack_median"]),
        "ack_p90_seconds": _round(figures["ack_p90"]),
        "close_median_seconds": _round(figures["close_median"]),
        "close_p90_seconds": _round(figures["close_p90"]),
    }


def _police_reports(compound: Compound, start: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    reports = PoliceReport.objects.filter(
        alarm__compound=compound, reported_at__gte=start, reported_at__lt=until
    ).order_by("reported_at", "pk")
    return [
        {
            "alarm": alarm_id,
            "kind": kind,
            "raised_at": _iso(raised_at),
            "reported_at": _iso(reported_at),
            "means": means,
            "number": number,
            "officer": officer,
        }
        for alarm_id, kind, raised_at, reported_at, means, number, officer in reports.values_list(
            "alarm_id", "alarm__kind", "alarm__raised_at", "reported_at", "means", "report_number", "officer"
        )
    ]


def _iso(value: dt.datetime) -> str:
    """Times inside the JSON fields: ISO 8601 in UTC, like every stored time."""
    return value.astimezone(dt.UTC).isoformat()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def compute(compound: Compound, day: dt.date, *, now: dt.datetime | None = None) -> DailyRecord:
    """The record of `day` as it stands now (not saved). Refuses days that have not begun."""
    now = now or timezone.now()
    start, end = day_bounds(day)
    if start > now:
        raise ValueError(f"{day} has not begun")
    until = min(end, now)
    coverage = compound_days(compound, [day], now=now)[0]
    combined = coverage.combined
    return DailyRecord(
        compound=compound,
        day=day,
        computed_at=now,
        final=now >= end,
        method=METHOD,
        judged_until=until,
        duty_rooms=len(coverage.rooms),
        unstaffed_minutes=combined.unstaffed_minutes if combined else None,
        unstaffed_gaps=[[_iso(a), _iso(b)] for a, b in combined.gaps] if combined else [],
        police_reports=_police_reports(compound, start, until),
        **_device_figures(compound, start, until),
        **_alarm_figures(compound, start, until),
    )


def stored(compound: Compound, day: dt.date) -> DailyRecord | None:
    return DailyRecord.objects.filter(compound=compound, day=day).first()


def ensure(compound: Compound, day: dt.date, *, now: dt.datetime | None = None) -> tuple[DailyRecord, bool]:
    """The kept record of `day`, written now unless a final one exists. Returns (record, written)."""
    existing = stored(compound, day)
    if existing is not None and existing.final:
        return existing, False
    record = compute(compound, day, now=now)
    if existing is not None:
        record.pk = existing.pk
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # written by another process meanwhile (the scheduler and a button)
        kept = stored(compound, day)
        if kept is None:
            raise
        return kept, False
    return record, True


@dataclass
class RunSummary:
    day: dt.date
    written: int
    kept: int


def generate(day: dt.date, compounds: Any = None, *, now: dt.datetime | None = None) -> RunSummary:
    """Records of `day` for every active compound (or the given ones): the scheduler's job."""
    now = now or timezone.now()
    compounds = compounds if compounds is not None else Compound.objects.active()
    written = kept = 0
    for compound in compounds.order_by("pk").iterator():
        _record, was_written = ensure(compound, day, now=now)
        written += was_written
        kept += not was_written
    return RunSummary(day, written, kept)
