"""What the live console reads (issue 6 §3): the compounds an operator may watch, the open alarm
queue, the latest events, the device board and who is on duty.

Each function is a fixed number of queries whatever the size of the compound, so the console with
500 open alarms costs what it costs with five (asserted in tests/console/test_views_performance.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anfang.alarms import choices as ac
from anfang.alarms.models import Alarm, AlarmEvent, AlarmStep, PoliceReport
from anfang.alarms.services import HANDLE_ROLES
from anfang.compounds.models import Compound
from anfang.core.choices import Role, choice_label
from anfang.devices.choices import DeviceStatus
from anfang.devices.models import Device
from anfang.duty.models import DutySession, LogEntry
from anfang.events.choices import EventKind, Flag
from anfang.events.models import Event

from .rows import queue_row

# A device not heard from for this long is shown offline. Devices send a heartbeat every 30–60 s,
# so three missed heartbeats; override with the setting of the same name.
DEFAULT_OFFLINE_SECONDS = 180
EVENT_ROWS = 30
LOG_ROWS = 8


# Short words for the narrow event list; the full explanation goes in the tooltip.
SHORT_FLAGS: dict[str, Any] = {
    Flag.ZONE_ASSUMED: _("时区推定"),
    Flag.CLOCK_SKEW: _("时钟偏差"),
    Flag.LATE: _("迟到"),
    Flag.REPLAYED: _("重放"),
}


def flag_labels(flags: list[str]) -> list[tuple[str, str]]:
    """(short, full) label of each flag of an event."""
    full: dict[str, Any] = dict(Flag.choices)
    return [(str(SHORT_FLAGS.get(f, f)), str(full.get(f, f))) for f in flags]


def offline_after() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "ANFANG_DEVICE_OFFLINE_SECONDS", DEFAULT_OFFLINE_SECONDS))


# --- scope -----------------------------------------------------------------------------------


def console_compounds(user: Any) -> QuerySet[Compound]:
    """Compounds whose alarms the user handles (HANDLE_ROLES): the consoles they may open."""
    return Compound.objects.in_scope_of_roles(user, HANDLE_ROLES).active()


def with_open_counts(compounds: QuerySet[Compound]) -> QuerySet[Compound]:
    open_q = Q(alarms__status__in=ac.OPEN_STATUSES)
    return compounds.annotate(
        open_alarms=Count("alarms", filter=open_q),
        unacknowledged=Count("alarms", filter=Q(alarms__status=ac.Status.NEW, alarms__stale=False)),
    ).order_by("-unacknowledged", "-open_alarms", "name")


# --- alarm queue -----------------------------------------------------------------------------


@dataclass
class Queue:
    """The open alarms of a compound in three groups, each by priority then age: waiting for a
    hand (new — these sound), being handled, and stale (late or replayed: listed, never sounded)."""

    waiting: list[Alarm] = field(default_factory=list)
    handling: list[Alarm] = field(default_factory=list)
    stale: list[Alarm] = field(default_factory=list)

    @property
    def open_count(self) -> int:
        return len(self.waiting) + len(self.handling) + len(self.stale)

    @property
    def unacknowledged(self) -> int:
        return len(self.waiting)

    @property
    def escalated(self) -> int:
        return sum(1 for a in self.waiting if a.escalation_level > 0)

    @property
    def top_priority(self) -> int:
        return max((a.priority for a in self.waiting), default=0)

    @property
    def groups(self) -> list[tuple[str, list[Alarm]]]:
        return [("waiting", self.waiting), ("handling", self.handling), ("stale", self.stale)]

    @property
    def alarm_ids(self) -> list[int]:
        return [a.pk for a in (*self.waiting, *self.handling, *self.stale)]


QUEUE_FIELDS = (
    "id",
    "compound_id",
    "kind",
    "priority",
    "status",
    "stale",
    "raised_at",
    "last_event_at",
    "event_count",
    "escalation_level",
    "acknowledged_at",
    "dispatched_at",
    "on_site_at",
    "device__id",
    "device__name",
    "device__location_note",
    "subject",
    "acknowledged_by__id",
    "acknowledged_by__username",
    "acknowledged_by__first_name",
    "acknowledged_by__last_name",
    "dispatched_to__id",
    "dispatched_to__username",
    "dispatched_to__first_name",
    "dispatched_to__last_name",
)


def person(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def dress(alarm: Alarm, url_prefix: str) -> Alarm:
    """What the queue row shows, worked out here: a template's `get_FOO_display` translates every
    choice of the field on each call, which for 500 rows costs more than the rest of the page."""
    a: Any = alarm
    a.kind_label = choice_label(ac.AlarmKind, alarm.kind)
    a.priority_label = choice_label(ac.Priority, alarm.priority)
    a.status_label = choice_label(ac.Status, alarm.status)
    local = timezone.localtime(alarm.raised_at)
    a.raised_iso = local.isoformat()
    a.raised_hms = local.strftime("%H:%M:%S")
    a.url = f"{url_prefix}{alarm.pk}/"
    if alarm.status in (ac.Status.DISPATCHED, ac.Status.ON_SITE):
        a.handler = person(alarm.dispatched_to)
    elif alarm.status == ac.Status.ACKNOWLEDGED:
        a.handler = person(alarm.acknowledged_by)
    else:
        a.handler = ""
    a.row = queue_row(a)
    return alarm


def alarm_queue(compound_id: int) -> Queue:
    """One query, whatever the number of open alarms."""
    from django.urls import reverse

    url_prefix = reverse("alarms:detail", args=[0])[: -len("0/")]
    rows = (
        Alarm.objects.filter(compound_id=compound_id, status__in=ac.OPEN_STATUSES)
        .select_related("device", "acknowledged_by", "dispatched_to")
        .only(*QUEUE_FIELDS)
        .order_by("-priority", "raised_at", "id")
    )
    queue = Queue()
    for alarm in rows:
        dress(alarm, url_prefix)
        if alarm.stale:
            queue.stale.append(alarm)
        elif alarm.status == ac.Status.NEW:
            queue.waiting.append(alarm)
        else:
            queue.handling.append(alarm)
    return queue


# --- events and devices ----------------------------------------------------------------------


def latest_events(compound_id: int, devices: dict[int, Device], limit: int = EVENT_ROWS) -> list[Event]:
    """The newest events of the compound but heartbeats (one query on the (compound, received_at)
    index); device names come from the board's devices, so no second query."""
    rows = list(
        Event.objects.filter(compound_id=compound_id)
        .exclude(kind=EventKind.HEARTBEAT)  # most of the traffic, and nothing an operator acts on
        .only("id", "device_id", "kind", "state", "severity", "occurred_at", "received_at", "flags", "media")
        .order_by("-received_at", "-id")[:limit]
    )
    for row in rows:
        r: Any = row
        r.device_obj = devices.get(row.device_id)
        r.flag_labels = flag_labels(row.flags)
        r.kind_label = choice_label(EventKind, row.kind)
    return rows


@dataclass
class DeviceTile:
    device: Device
    state: str  # "online" | "offline" | "unknown" (never heard from) | "faulty"
    last_seen_at: dt.datetime | None
    last_event_at: dt.datetime | None


@dataclass
class Board:
    tiles: list[DeviceTile]
    devices: dict[int, Device]

    def count(self, state: str) -> int:
        return sum(1 for t in self.tiles if t.state == state)

    @property
    def online(self) -> int:
        return self.count("online")

    @property
    def offline(self) -> int:
        return self.count("offline")

    @property
    def unknown(self) -> int:
        return self.count("unknown")

    @property
    def faulty(self) -> int:
        return self.count("faulty")


STATE_ORDER = {"offline": 0, "faulty": 1, "unknown": 2, "online": 3}


def device_board(compound_id: int, now: dt.datetime | None = None) -> Board:
    """Devices of the compound (not retired) with their health: offline ones first. One query."""
    now = now or timezone.now()
    cutoff = now - offline_after()
    devices = list(
        Device.objects.filter(compound_id=compound_id)
        .exclude(status=DeviceStatus.RETIRED)
        .select_related("health")
        .only(
            "id",
            "name",
            "compound_id",
            "device_type",
            "status",
            "location_note",
            "health__last_seen_at",
            "health__last_event_at",
        )
        .order_by("name", "id")
    )
    tiles = []
    for d in devices:
        health = getattr(d, "health", None)
        seen = health.last_seen_at if health else None
        if d.status == DeviceStatus.FAULTY:
            state = "faulty"
        elif seen is None:
            state = "unknown"
        else:
            state = "online" if seen >= cutoff else "offline"
        tiles.append(DeviceTile(d, state, seen, health.last_event_at if health else None))
    tiles.sort(key=lambda t: STATE_ORDER[t.state])
    return Board(tiles, {d.pk: d for d in devices})


# --- duty ------------------------------------------------------------------------------------


def on_duty(compound_id: int) -> list[DutySession]:
    return list(
        DutySession.objects.filter(duty_room__compound_id=compound_id, signed_off_at=None).select_related(
            "operator", "duty_room"
        )
    )


def recent_log(compound_id: int, limit: int = LOG_ROWS) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(duty_room__compound_id=compound_id)
        .select_related("author")
        .order_by("-at", "-id")[:limit]
    )


# --- guards ----------------------------------------------------------------------------------


def guards_of(compound: Compound) -> QuerySet:
    """Users holding the guard role on this compound — directly or through an organisation at or
    above its police station, community or property company (the scope rule of querysets.py)."""
    orgs: set[int] = set()
    for org in (compound.police_station, compound.community, compound.property_company):
        if org is not None:
            orgs.update(int(p) for p in org.path.strip("/").split("/") if p)
    user_model = get_user_model()
    return (
        user_model.objects.filter(
            Q(grants__compound_id=compound.pk) | Q(grants__organisation_id__in=orgs),
            grants__role=Role.GUARD,
            is_active=True,
        )
        .distinct()
        .order_by("first_name", "username")
    )


# --- one alarm -------------------------------------------------------------------------------

DETAIL_EVENTS = 12
PICTURE_TYPES = {"image/jpeg", "image/png"}


@dataclass
class AlarmDetail:
    alarm: Alarm
    events: list[Event]  # newest first, each with `pictures` (scoped picture URLs) and `flag_labels`
    more_events: int
    steps: list[AlarmStep]
    police_report: PoliceReport | None


def alarm_detail(alarm: Alarm) -> AlarmDetail:
    """The alarm's latest events with their pictures, its timeline and its police report."""
    from django.urls import reverse

    event_ids = list(
        AlarmEvent.objects.filter(alarm=alarm)
        .order_by("-event_id")
        .values_list("event_id", flat=True)[: DETAIL_EVENTS + 1]
    )
    shown = event_ids[:DETAIL_EVENTS]
    events = list(Event.objects.filter(id__in=shown).defer("payload").order_by("-received_at", "-id"))
    for e in events:
        e.pictures = [  # type: ignore[attr-defined]
            reverse("events:picture", args=[e.pk, i])
            for i, ref in enumerate(e.media)
            if isinstance(ref, dict) and ref.get("type") in PICTURE_TYPES
        ]
        e.flag_labels = flag_labels(e.flags)  # type: ignore[attr-defined]
    steps = list(AlarmStep.objects.filter(alarm=alarm).select_related("actor").order_by("at", "id"))
    report = PoliceReport.objects.filter(alarm=alarm).select_related("reported_by").first()
    return AlarmDetail(alarm, events, max(0, alarm.event_count - len(shown)), steps, report)


def dispatches_of(user: Any) -> QuerySet[Alarm]:
    """Open alarms a guard has been sent to (their "my dispatches" page)."""
    return (
        Alarm.objects.filter(dispatched_to=user, status__in=(ac.Status.DISPATCHED, ac.Status.ON_SITE))
        .select_related("compound", "device", "acknowledged_by")
        .order_by("-priority", "dispatched_at")
    )
