"""Duty pages of a compound (Art 16: 24小时有人值班，完整记载值班记录): who is on duty now and the
last handover note, sign-on / sign-off, the week's roster, the duty log (值班记录). Coverage and
the daily operating record are in views_records.py.

Who sees what: the compound's duty operators and its managers (DUTY_ROLES) and the police of its
jurisdiction (read-only, Art 34); everybody else gets 404, as for any compound they cannot see.
Only managers plan shifts; only the person on duty signs off (duty.services decides)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.alarms import choices as ac
from anfang.alarms.models import Alarm
from anfang.alarms.police import POLICE_ROLES
from anfang.compounds.models import Compound, DutyRoom
from anfang.core.views import paginate

from . import services
from .coverage import LOCAL, day_bounds
from .forms import LogFilterForm, NoteForm, ShiftForm, SignOffForm, parse_day
from .models import DutySession, LogEntry, Shift
from .records import compound_days, local_today
from .timeline import HOUR_TICKS, Block, blocks, future_block, uncovered

VIEW_ROLES = services.DUTY_ROLES | POLICE_ROLES
LOG_PER_PAGE = 50


def compound_for(request: HttpRequest, pk: int, roles: frozenset[str] = VIEW_ROLES) -> Compound:
    """The compound if the user holds one of `roles` on it; 404 otherwise (its existence is not told)."""
    return get_object_or_404(Compound.objects.in_scope_of_roles(request.user, roles), pk=pk)


def holds(user: Any, compound: Compound, roles: frozenset[str]) -> bool:
    return Compound.objects.in_scope_of_roles(user, roles).filter(pk=compound.pk).exists()


def rooms_of(compound: Compound) -> QuerySet[DutyRoom]:
    return DutyRoom.objects.filter(compound=compound).order_by("-is_monitoring_centre", "id")


def name_of(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


# --- index and overview ---------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    compounds = Compound.objects.in_scope_of_roles(request.user, VIEW_ROLES).active().order_by("name", "pk")
    if compounds.count() == 1:
        return redirect("duty:compound", pk=compounds.get().pk)
    page = paginate(request, compounds)
    ids = [c.pk for c in page.object_list]
    rooms: dict[int, int] = defaultdict(int)
    for compound_id in DutyRoom.objects.filter(compound_id__in=ids).values_list("compound_id", flat=True):
        rooms[compound_id] += 1
    on_duty: dict[int, list[DutySession]] = defaultdict(list)
    for session in DutySession.objects.filter(duty_room__compound_id__in=ids, signed_off_at=None).select_related(
        "operator", "duty_room"
    ):
        on_duty[session.duty_room.compound_id].append(session)
    rows = [
        {
            "compound": c,
            "rooms": rooms[c.pk],
            "on_duty": on_duty[c.pk],
            "staffed_rooms": len({s.duty_room_id for s in on_duty[c.pk]}),
        }
        for c in page.object_list
    ]
    my_session = DutySession.objects.filter(operator_id=request.user.pk, signed_off_at=None).select_related(
        "duty_room__compound"
    )
    return render(request, "duty/index.html", {"page": page, "rows": rows, "my_session": my_session.first()})


@dataclass
class RoomPanel:
    room: DutyRoom
    on_duty: list[DutySession] = field(default_factory=list)
    last_handover: DutySession | None = None
    today: list[Block] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)


@login_required
def compound_overview(request: HttpRequest, pk: int) -> HttpResponse:
    compound = compound_for(request, pk)
    now = timezone.now()
    today = local_today(now)
    last_handover = (
        DutySession.objects.filter(duty_room=OuterRef("pk"), signed_off_at__isnull=False)
        .exclude(handover_note="")
        .order_by("-signed_off_at", "-pk")
        .values("pk")[:1]
    )
    rooms = list(rooms_of(compound).annotate(last_handover_id=Subquery(last_handover)))
    handovers = DutySession.objects.select_related("operator").in_bulk(
        [r.last_handover_id for r in rooms if r.last_handover_id]
    )
    panels = {room.pk: RoomPanel(room, last_handover=handovers.get(room.last_handover_id)) for room in rooms}
    for session in DutySession.objects.filter(duty_room__compound=compound, signed_off_at=None).select_related(
        "operator"
    ):
        panels[session.duty_room_id].on_duty.append(session)
    for shift in Shift.objects.filter(
        duty_room__compound=compound, ends_at__gt=now, starts_at__lt=now + dt.timedelta(hours=24)
    ).select_related("operator"):
        panels[shift.duty_room_id].shifts.append(shift)
    coverage = compound_days(compound, [today], now=now)[0]
    for room, cov in coverage.rooms:
        panels[room.pk].today = blocks(today, cov.gaps, css="gap") + future_block(today, cov.until)
    my_session = DutySession.objects.filter(operator_id=request.user.pk, signed_off_at=None).select_related(
        "duty_room__compound"
    )
    context = {
        "compound": compound,
        "panels": list(panels.values()),
        "coverage": coverage.combined,
        "today": today,
        "ticks": HOUR_TICKS,
        "my_session": my_session.first(),
        "can_duty": holds(request.user, compound, services.DUTY_ROLES),
        "open_alarms": Alarm.objects.filter(compound=compound, status__in=ac.OPEN_STATUSES).count(),
        "recent": LogEntry.objects.filter(duty_room__compound=compound).select_related("author", "duty_room")[:8],
        "several_rooms": len(rooms) > 1,
    }
    return render(request, "duty/compound.html", context)


# --- sign on / sign off ---------------------------------------------------------------------------


@login_required
@require_POST
def sign_on(request: HttpRequest, pk: int) -> HttpResponse:
    compound = compound_for(request, pk, services.DUTY_ROLES)
    try:
        room = rooms_of(compound).get(pk=int(request.POST.get("room", "")))
    except (ValueError, DutyRoom.DoesNotExist) as exc:
        raise Http404 from exc
    try:
        services.sign_on(request.user, room)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(who)s 已在 %(room)s 上岗，%(at)s。")
            % {"who": name_of(request.user), "room": room.name, "at": timezone.localtime().strftime("%H:%M")},
        )
    return redirect("duty:compound", pk=compound.pk)


@login_required
def sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(
        DutySession.objects.select_related("duty_room__compound", "operator"), pk=pk, operator_id=request.user.pk
    )
    compound = session.duty_room.compound
    if session.signed_off_at is not None:
        messages.info(request, _("该值班记录已下岗。"))
        return redirect("duty:compound", pk=compound.pk)
    form = SignOffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sign_off(request.user, session, form.cleaned_data["handover_note"])
        except ValidationError as exc:
            form.add_error("handover_note" if hasattr(exc, "error_dict") else None, exc.messages)
        else:
            messages.success(request, _("已下岗，交接班说明已记入值班日志。"))
            return redirect("duty:compound", pk=compound.pk)
    since = LogEntry.objects.filter(duty_room=session.duty_room, at__gte=session.signed_on_at)
    context = {
        "compound": compound,
        "session": session,
        "form": form,
        "open_alarms": Alarm.objects.filter(compound=compound, status__in=ac.OPEN_STATUSES)
        .order_by("-priority", "raised_at")
        .select_related("device")[:20],
        "alarm_entries": since.filter(kind="alarm").count(),
        "notes": since.filter(kind="manual").select_related("author")[:20],
    }
    return render(request, "duty/sign_off.html", context, status=400 if form.errors else 200)


# --- roster ---------------------------------------------------------------------------------------


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass
class RosterDay:
    day: dt.date
    planned: list[Block]
    actual: list[Block]
    holes: list[Block]

    @property
    def bar(self) -> list[Block]:
        return self.holes + self.planned

    @property
    def unplanned_minutes(self) -> int:
        return sum(b.minutes for b in self.holes)


def roster_rows(
    rooms: list[DutyRoom], days: list[dt.date], shifts: list[Shift], sessions: list[DutySession], now: dt.datetime
) -> list[tuple[DutyRoom, list[RosterDay]]]:
    by_room_shifts: dict[int, list[Shift]] = defaultdict(list)
    by_room_sessions: dict[int, list[DutySession]] = defaultdict(list)
    for shift in shifts:
        by_room_shifts[shift.duty_room_id].append(shift)
    for session in sessions:
        by_room_sessions[session.duty_room_id].append(session)
    rows = []
    for room in rooms:
        planned = by_room_shifts[room.pk]
        spans = [(s.starts_at, s.ends_at) for s in planned]
        done = by_room_sessions[room.pk]
        days_out = []
        for day in days:
            days_out.append(
                RosterDay(
                    day,
                    blocks(day, spans, label=lambda s: name_of(s.operator), css="shift", items=planned),
                    blocks(day, [(s.signed_on_at, s.signed_off_at or now) for s in done], css="session", items=done),
                    blocks(day, uncovered(day, spans), css="hole"),
                )
            )
        rows.append((room, days_out))
    return rows


@login_required
def roster(request: HttpRequest, pk: int) -> HttpResponse:
    compound = compound_for(request, pk)
    now = timezone.now()
    picked = parse_day(request.GET.get("week"), local_today(now))
    if picked is None:
        raise Http404
    monday = week_start(picked)
    can_plan = holds(request.user, compound, services.ROSTER_ROLES)
    form = None
    if can_plan:
        form = ShiftForm(request.POST or None, compound=compound, initial=_next_free_slot(compound, monday, now))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                shift = services.plan_shift(
                    request.user, data["duty_room"], data["operator"], data["starts_at"], data["ends_at"], data["note"]
                )
            except ValidationError as exc:
                form.attach(exc)
            else:
                messages.success(
                    request,
                    _("已为 %(who)s 排班：%(room)s，%(start)s – %(end)s。")
                    % {
                        "who": name_of(shift.operator),
                        "room": shift.duty_room.name,
                        "start": timezone.localtime(shift.starts_at).strftime("%m-%d %H:%M"),
                        "end": timezone.localtime(shift.ends_at).strftime("%m-%d %H:%M"),
                    },
                )
                week = week_start(timezone.localtime(shift.starts_at, LOCAL).date())
                return redirect(f"{reverse('duty:roster', args=[compound.pk])}?week={week.isoformat()}")
    elif request.method == "POST":
        raise PermissionDenied(_("您没有编排该值班室排班的权限。"))
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    start, end = day_bounds(days[0])[0], day_bounds(days[-1])[1]
    rooms = list(rooms_of(compound))
    shifts = list(
        Shift.objects.filter(duty_room__compound=compound, starts_at__lt=end, ends_at__gt=start).select_related(
            "operator", "duty_room"
        )
    )
    sessions = list(
        DutySession.objects.filter(duty_room__compound=compound, signed_on_at__lt=min(end, now))
        .exclude(signed_off_at__lte=start)
        .select_related("operator")
    )
    context = {
        "compound": compound,
        "form": form,
        "can_plan": can_plan,
        "rows": roster_rows(rooms, days, shifts, sessions, now),
        "days": days,
        "monday": monday,
        "prev_week": monday - dt.timedelta(days=7),
        "next_week": monday + dt.timedelta(days=7),
        "this_week": week_start(local_today(now)),
        "today": local_today(now),
        "ticks": HOUR_TICKS,
        "shifts": sorted(shifts, key=lambda s: (s.starts_at, s.duty_room_id)),
    }
    return render(request, "duty/roster.html", context, status=400 if form is not None and form.errors else 200)


def _next_free_slot(compound: Compound, monday: dt.date, now: dt.datetime) -> dict[str, Any]:
    """Prefill: the first room, from the end of its last planned shift (or the next full hour)."""
    room = rooms_of(compound).first()
    if room is None:
        return {}
    last = Shift.objects.filter(duty_room=room, ends_at__gt=now).order_by("-ends_at").first()
    start = last.ends_at if last else now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    start = timezone.localtime(start, LOCAL)
    return {"duty_room": room, "starts_at": start, "ends_at": start + dt.timedelta(hours=12)}


# --- duty log -------------------------------------------------------------------------------------


@login_required
def duty_log(request: HttpRequest, pk: int) -> HttpResponse:
    compound = compound_for(request, pk)
    can_write = holds(request.user, compound, services.DUTY_ROLES)
    note_form = NoteForm(request.POST or None, compound=compound) if can_write else None
    if request.method == "POST":
        if note_form is None:
            raise PermissionDenied(_("您不是该值班室的值班人员。"))
        if note_form.is_valid():
            try:
                services.add_note(request.user, note_form.cleaned_data["duty_room"], note_form.cleaned_data["text"])
            except ValidationError as exc:
                note_form.add_error("text", exc.messages)
            else:
                messages.success(request, _("已记入值班日志。"))
                return redirect("duty:log", pk=compound.pk)
    filters = LogFilterForm(request.GET or None, compound=compound)
    entries = LogEntry.objects.filter(duty_room__compound=compound).select_related("author", "duty_room")
    if filters.is_bound:
        if day := filters.value("day"):
            start, end = day_bounds(day)
            entries = entries.filter(at__gte=start, at__lt=end)
        if kind := filters.value("kind"):
            entries = entries.filter(kind=kind)
        if room := filters.value("room"):
            entries = entries.filter(duty_room=room)
    page = paginate(request, entries, LOG_PER_PAGE)
    context = {
        "compound": compound,
        "form": filters,
        "note_form": note_form,
        "page": page,
        "several_rooms": rooms_of(compound).count() > 1,
    }
    return render(request, "duty/log.html", context, status=400 if note_form is not None and note_form.errors else 200)
