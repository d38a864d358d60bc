"""What happened on patrol (Art 10: the process of patrols is controlled): the runs with their
evaluation, one run checkpoint by checkpoint, the guards' pictures (audited, Art 33(5)), reports
per guard / route / team / compound with Excel and PDF downloads (audited: they name guards), and
a month calendar of runs coloured by result.

Who: managers, duty operators and the police of the jurisdiction, each for the compounds their
grants cover (views.VIEW_ROLES); a run of another compound is 404."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from anfang.alarms.models import Alarm
from anfang.audit.choices import AuditAction
from anfang.audit.services import record_request
from anfang.compounds.models import Compound
from anfang.core.views import paginate
from anfang.events.media import picture_response

from . import choices as c
from . import reports
from .filters import CalendarForm, ReportForm, RunFilter
from .models import Checkin, PatrolException, PatrolRun, PatrolTeam, RouteCheckpoint
from .schedule import LOCAL
from .views import VIEW_ROLES, require

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def viewable_compounds(request: HttpRequest) -> QuerySet[Compound]:
    require(request, VIEW_ROLES)
    return Compound.objects.in_scope_of_roles(request.user, VIEW_ROLES)


def scoped_runs(request: HttpRequest) -> QuerySet[PatrolRun]:
    return PatrolRun.objects.filter(compound__in=viewable_compounds(request).values("pk"))


def guards_in(runs: QuerySet[PatrolRun]) -> QuerySet:
    return get_user_model().objects.filter(pk__in=runs.exclude(guard=None).values("guard_id")).order_by("username")


def teams_in(compounds: QuerySet[Compound]) -> QuerySet[PatrolTeam]:
    return PatrolTeam.objects.filter(compounds__in=compounds.values("pk")).distinct().order_by("name")


# --- runs ----------------------------------------------------------------------------------------


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    compounds = viewable_compounds(request)
    runs = PatrolRun.objects.filter(compound__in=compounds.values("pk"))
    filters = RunFilter(request.GET or None, compounds=compounds, guards=guards_in(runs))
    qs = filters.apply(runs).select_related("compound", "route", "guard", "team").order_by("-window_start", "-id")
    page = paginate(request, qs)
    return render(request, "patrol/run_list.html", {"form": filters, "page": page, "has_any": runs.exists()})


@dataclass
class StopRow:
    """One checkpoint of the run as the manager reads it."""

    position: int
    stop: RouteCheckpoint
    read_at: dt.datetime | None = None
    checkin: Checkin | None = None
    state: str = "pending"  # read | missed | pending
    early: bool = False
    late: bool = False
    out_of_order: bool = False
    too_fast: dict[str, int] | None = None
    leg_seconds: int | None = None
    reads: int = 0

    @property
    def flagged(self) -> bool:
        return self.state == "missed" or self.early or self.late or self.out_of_order or self.too_fast is not None


@dataclass
class RunView:
    run: PatrolRun
    stops: list[StopRow] = field(default_factory=list)
    other: list[Checkin] = field(default_factory=list)  # reads not counted: flagged ones
    exceptions: list[PatrolException] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)

    @property
    def missed(self) -> list[StopRow]:
        return [s for s in self.stops if s.state == "missed"]

    @property
    def read_count(self) -> int:
        return sum(1 for s in self.stops if s.state == "read")

    @property
    def percent(self) -> int:
        return round(100 * self.read_count / len(self.stops)) if self.stops else 0


def run_view(run: PatrolRun) -> RunView:
    """The run's stops with the first counted read of each, and the judgement of each read. The
    run-level figures are the stored evaluation (services.evaluate_runs); the per-stop marks repeat
    its rules for the reads shown (a stop read before an earlier-positioned one already read is out
    of order; a leg the evaluation found too fast marks the stop it ends at)."""
    view = RunView(run)
    stops = list(
        RouteCheckpoint.objects.filter(route_id=run.route_id).select_related("checkpoint").order_by("position")
    )
    checkins = list(Checkin.objects.of_runs([run.pk]).order_by("occurred_at", "id"))
    first: dict[int, Checkin] = {}
    counts: dict[int, int] = defaultdict(int)
    for ci in checkins:
        if ci.eligible and ci.checkpoint_id is not None:
            counts[ci.checkpoint_id] += 1
            if ci.checkpoint_id not in first:
                first[ci.checkpoint_id] = ci
                continue
        view.other.append(ci)
    fast = {leg.get("to"): leg for leg in (run.too_fast_legs or [])}
    position = {s.checkpoint_id: s.position for s in stops}
    highest = 0
    for stop in stops:
        row = StopRow(stop.position, stop, reads=counts.get(stop.checkpoint_id, 0))
        ci = first.get(stop.checkpoint_id)
        if ci is not None:
            row.state, row.checkin, row.read_at = "read", ci, ci.occurred_at
            row.early = ci.occurred_at < run.window_start
            row.late = ci.occurred_at > run.window_end
            row.too_fast = fast.get(stop.checkpoint_id)
        elif not run.is_open:  # closed and never read: what evaluation stored in missed_checkpoints
            row.state = "missed"
        view.stops.append(row)
    if run.route.ordered:
        by_position = {row.position: row for row in view.stops}
        for ci in sorted(first.values(), key=lambda x: (x.occurred_at, position.get(x.checkpoint_id or 0, 0))):
            pos = position.get(ci.checkpoint_id or 0, 0)
            if pos < highest:
                by_position[pos].out_of_order = True
            highest = max(highest, pos)
    previous: dt.datetime | None = None
    for row in view.stops:
        if row.read_at is not None:
            if previous is not None and row.read_at >= previous:
                row.leg_seconds = int((row.read_at - previous).total_seconds())
            previous = row.read_at
    view.exceptions = list(
        PatrolException.objects.filter(run=run).select_related("guard", "checkpoint").order_by("at", "id")
    )
    alarm_ids = [i for i in (run.not_started_alarm_id, run.missed_alarm_id) if i]
    view.alarms = list(Alarm.objects.filter(pk__in=alarm_ids)) if alarm_ids else []
    return view


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(
        scoped_runs(request).select_related("compound", "route", "guard", "team", "plan"),
        pk=pk,
    )
    return render(request, "patrol/run_detail.html", {"view": run_view(run), "run": run})


@login_required
@require_GET
def run_photo(request: HttpRequest, pk: int, kind: str, item: int) -> HttpResponseBase:
    """A guard's picture of a check-in or an exception, through scope and the access audit."""
    run = get_object_or_404(scoped_runs(request), pk=pk)
    if kind == "checkin":
        obj: Any = Checkin.objects.of_runs([run.pk]).filter(pk=item).first()
    elif kind == "exception":
        obj = PatrolException.objects.filter(run=run, pk=item).first()
    else:
        raise Http404
    ref: Any = getattr(obj, "photo", None)
    response = picture_response(ref, f"patrol-{kind}-{item}")
    if response.status_code == 200:
        record_request(
            request,
            AuditAction.VIEW,
            f"patrol.{kind}_photo",
            item,
            compound_id=run.compound_id,
            detail={"run": run.pk, "sha256": ref.get("sha256", "")},
        )
    return response


# --- reports -------------------------------------------------------------------------------------


def build_report(request: HttpRequest) -> tuple[ReportForm, reports.Report, QuerySet[PatrolRun]]:
    compounds = viewable_compounds(request)
    form = ReportForm(request.GET or None, compounds=compounds)
    since, until = form.span()
    runs = PatrolRun.objects.filter(compound__in=compounds.values("pk"))
    exceptions = PatrolException.objects.filter(compound__in=compounds.values("pk"))
    report = reports.build(
        runs,
        exceptions,
        by=form.dimension,
        period=form.bucket,
        since=since,
        until=until,
        compound=form.value("compound"),
    )
    detail_runs = runs.filter(day__gte=since, day__lte=until)
    if report.compound is not None:
        detail_runs = detail_runs.filter(compound=report.compound)
    return form, report, detail_runs


@login_required
def report(request: HttpRequest) -> HttpResponse:
    form, built, _runs = build_report(request)
    export = request.GET.copy()
    context = {
        "form": form,
        "report": built,
        "rows": [(row, reports.period_label(built, row)) for row in built.rows],
        "query": export.urlencode(),
    }
    return render(request, "patrol/report.html", context)


def _audit_export(request: HttpRequest, built: reports.Report, fmt: str) -> None:
    """Reports name guards: personal data, so every download is in the access audit (Art 33(5))."""
    record_request(
        request,
        AuditAction.EXPORT,
        "patrol.report",
        f"{built.by}:{built.period}:{built.since}:{built.until}",
        compound_id=built.compound.pk if built.compound else None,
        detail={
            "format": fmt,
            "by": built.by,
            "period": built.period,
            "since": built.since,
            "until": built.until,
            "rows": len(built.rows),
        },
    )


@login_required
@require_GET
def report_xlsx(request: HttpRequest) -> HttpResponse:
    _form, built, runs = build_report(request)
    body = reports.workbook_bytes(built, runs)
    _audit_export(request, built, "xlsx")
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, reports.file_name(built, "xlsx")[1])
    return response


@login_required
@require_GET
def report_pdf(request: HttpRequest) -> HttpResponse:
    _form, built, _runs = build_report(request)
    body = reports.render_pdf(built)
    _audit_export(request, built, "pdf")
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, reports.file_name(built, "pdf")[1])
    return response


# --- calendar ------------------------------------------------------------------------------------

CALENDAR_CHIPS = 8  # runs shown per day; the rest as "+N"


@dataclass
class Day:
    day: dt.date
    in_month: bool
    runs: list[PatrolRun] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def shown(self) -> list[PatrolRun]:
        return self.runs[:CALENDAR_CHIPS]

    @property
    def more(self) -> int:
        return max(0, len(self.runs) - CALENDAR_CHIPS)

    @property
    def css(self) -> str:
        """The day's colour: red if a patrol was not walked, amber if one missed checkpoints,
        green when every closed patrol was complete, grey with only open ones."""
        if self.counts.get(c.RunStatus.MISSED):
            return "missed"
        if self.counts.get(c.RunStatus.INCOMPLETE):
            return "incomplete"
        if self.counts.get(c.RunStatus.COMPLETED):
            return "completed"
        return "open" if self.runs else ""


@login_required
def run_calendar(request: HttpRequest) -> HttpResponse:
    compounds = viewable_compounds(request)
    form = CalendarForm(request.GET or None, compounds=compounds, teams=teams_in(compounds))
    first = form.first_day()
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    runs = form.apply(PatrolRun.objects.filter(compound__in=compounds.values("pk")))
    runs = runs.filter(day__gte=weeks[0][0], day__lte=weeks[-1][-1]).select_related("route", "guard", "compound")
    days = {d: Day(d, d.month == first.month) for week in weeks for d in week}
    for run in runs.order_by("window_start", "id"):
        day = days[run.day]
        day.runs.append(run)
        day.counts[run.status] = day.counts.get(run.status, 0) + 1
    month_runs = [r for d in days.values() if d.in_month for r in d.runs]
    totals = {s: sum(1 for r in month_runs if r.status == s) for s in c.RunStatus.values}
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    context = {
        "form": form,
        "first": first,
        "weeks": [[days[d] for d in week] for week in weeks],
        "weekday_names": [label for _v, label in c.Weekday.choices],
        "prev_month": prev_month.strftime("%Y-%m"),
        "next_month": next_month.strftime("%Y-%m"),
        "totals": totals,
        "today": timezone.now().astimezone(LOCAL).date(),
        "status_labels": dict(c.RunStatus.choices),
    }
    return render(request, "patrol/calendar.html", context)
