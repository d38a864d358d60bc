"""Police pages (公安): alarms reported to the police across the jurisdiction, response times per
station and compound, compounds slow to acknowledge; a compound drill-down and an Excel export.
Figures from police.py; only police roles (and platform admins) get here — 403 for anyone else."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from anfang.core.choices import choice_label
from anfang.core.views import paginate
from anfang.duty.records import local_today

from . import choices as c
from . import police as p

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SLOW_LIMIT = 100  # rows on the page; the export has them all
REPORTS_PER_PAGE = 25


def _police(request: HttpRequest) -> None:
    if not p.can_view(request.user):
        raise PermissionDenied(_("公安报警统计仅供公安机关查看。"))


def _filters(request: HttpRequest, compounds: Any) -> tuple[p.PoliceFilterForm, p.Filters]:
    form = p.PoliceFilterForm(request.GET or None, compounds=compounds)
    if form.is_bound:
        return form, form.filters(local_today())
    filters = p.default_filters()
    form = p.PoliceFilterForm(
        compounds=compounds, initial={"start": filters.start, "end": filters.end, "ack_minutes": filters.ack_minutes}
    )
    return form, filters


def station_rows(compounds: Any, f: p.Filters, now: dt.datetime) -> list[p.Stats]:
    """Every station of the jurisdiction (those without alarms too: silence is a figure)."""
    stats = {s.id: s for s in p.by_station(compounds, f, now)}
    stations = p.stations_of(compounds).order_by("name")
    if f.station_id:
        stations = stations.filter(pk=f.station_id)
    return [stats.get(st.pk) or p.Stats(id=st.pk, name=st.name) for st in stations]


def _bar_scale(rows: list[p.Stats]) -> float:
    return max([r.ack_p90 or 0 for r in rows] + [1.0])


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _police(request)
    compounds = p.jurisdiction(request.user)
    form, f = _filters(request, compounds)
    now = timezone.now()
    per_compound = p.by_compound(compounds, f, now)
    slow = p.slow_compounds(per_compound)
    stations = station_rows(compounds, f, now)
    context = {
        "form": form,
        "f": f,
        "qs": urlencode(f.query()),
        "total": p.overall(compounds, f, now),
        "stations": stations,
        "scale": _bar_scale(stations),
        "slow": slow[:SLOW_LIMIT],
        "slow_more": max(0, len(slow) - SLOW_LIMIT),
        "compounds_with_alarms": len(per_compound),
        "page": paginate(request, p.reports_in(compounds, f), REPORTS_PER_PAGE),
    }
    return render(request, "alarms/police/dashboard.html", context)


@login_required
def compound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _police(request)
    compounds = p.jurisdiction(request.user)
    compound = get_object_or_404(compounds.select_related("police_station", "property_company"), pk=pk)
    form, f = _filters(request, compounds)
    f = p.Filters(f.start, f.end, None, f.kind, f.ack_minutes)  # the compound decides the station
    del form.fields["station"]
    one = compounds.filter(pk=compound.pk)
    now = timezone.now()
    limit = dt.timedelta(minutes=f.ack_minutes)
    alarms = (
        p.alarms_in(one, f).select_related("device", "acknowledged_by", "police_report").order_by("-raised_at", "-pk")
    )
    page = paginate(request, alarms, 50)
    for alarm in page.object_list:
        alarm.late = not alarm.stale and (
            (alarm.acknowledged_at is None and now - alarm.raised_at > limit)
            or (alarm.acknowledged_at is not None and alarm.acknowledged_at - alarm.raised_at > limit)
        )
    context = {
        "compound": compound,
        "form": form,
        "f": f,
        "qs": urlencode(f.query()),
        "total": p.overall(one, f, now),
        "page": page,
        "today": local_today(now),
    }
    return render(request, "alarms/police/compound.html", context)


# --- Excel export ---------------------------------------------------------------------------------


def _sheet(wb: Workbook, title: str, header: list[str], rows: Any) -> None:
    ws = wb.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8EEF7")
    for row in rows:
        ws.append(row)
    for i, text in enumerate(header, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, len(str(text)) * 2 + 2)
    ws.freeze_panes = "A2"


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _secs(value: float | None) -> float | None:
    return None if value is None else round(value)


def stat_header() -> list[str]:
    return [
        _("报警数"),
        _("迟到/重放"),
        _("已确认"),
        _("已关闭"),
        _("真实警情"),
        _("向公安报警"),
        _("确认用时中位数（秒）"),
        _("确认用时P90（秒）"),
        _("关闭用时中位数（秒）"),
        _("关闭用时P90（秒）"),
        _("报警用时中位数（秒）"),
        _("确认超时"),
        _("超时未确认"),
    ]


def _stat_cells(s: p.Stats) -> list[Any]:
    return [
        s.n_alarms,
        s.n_stale,
        s.n_acknowledged,
        s.n_closed,
        s.n_real,
        s.n_reported,
        _secs(s.ack_median),
        _secs(s.ack_p90),
        _secs(s.close_median),
        _secs(s.close_p90),
        _secs(s.report_median),
        s.n_slow,
        s.n_missing,
    ]


def workbook(compounds: Any, f: p.Filters, now: dt.datetime) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    stats_header = stat_header()
    reports = (
        [
            r.alarm.pk,
            r.alarm.compound.name,
            r.alarm.compound.police_station.name,
            choice_label(c.AlarmKind, r.alarm.kind),
            _local(r.alarm.raised_at),
            _local(r.alarm.acknowledged_at),
            _local(r.reported_at),
            _secs((r.reported_at - r.alarm.raised_at).total_seconds()),
            choice_label(c.ReportMeans, r.means),
            r.report_number,
            r.officer,
            r.reported_by.get_full_name() or r.reported_by.get_username(),
            choice_label(c.CloseCause, r.alarm.close_cause) if r.alarm.close_cause else "",
        ]
        for r in p.reports_in(compounds, f).iterator(chunk_size=500)
    )
    _sheet(
        wb,
        _("向公安报警"),
        [
            _("报警编号"),
            _("小区"),
            _("派出所"),
            _("报警类型"),
            _("产生时间"),
            _("确认时间"),
            _("报警时间"),
            _("报警用时（秒）"),
            _("报警方式"),
            _("接警编号"),
            _("接警民警"),
            _("报警人"),
            _("关闭原因"),
        ],
        reports,
    )
    _sheet(
        wb,
        _("派出所"),
        [_("派出所"), *stats_header],
        ([s.name, *_stat_cells(s)] for s in station_rows(compounds, f, now)),
    )
    per_compound = p.by_compound(compounds, f, now)
    _sheet(
        wb,
        _("小区"),
        [_("小区"), _("派出所"), *stats_header],
        ([s.name, s.station_name, *_stat_cells(s)] for s in per_compound),
    )
    _sheet(
        wb,
        _("确认超时小区"),
        [_("小区"), _("派出所"), _("确认超时"), _("超时未确认"), _("最早未确认报警"), _("确认用时P90（秒）")],
        (
            [s.name, s.station_name, s.n_slow, s.n_missing, _local(s.oldest_unacknowledged), _secs(s.ack_p90)]
            for s in p.slow_compounds(per_compound)
        ),
    )
    ws = wb.create_sheet(_("说明"))
    for line in (
        _("统计期间：%(start)s 至 %(end)s（北京时间，按报警产生时间）")
        % {"start": f.start.isoformat(), "end": f.end.isoformat()},
        _("确认超时：报警产生后超过 %(n)d 分钟才确认；超时未确认：产生已超过 %(n)d 分钟仍未确认。")
        % {"n": f.ack_minutes},
        _("迟到/重放的报警计入报警数，不计入用时和超时。"),
        _("导出时间：%(at)s") % {"at": timezone.localtime(now).strftime("%Y-%m-%d %H:%M")},
    ):
        ws.append([line])
    ws.column_dimensions["A"].width = 100
    return wb


@login_required
def export(request: HttpRequest) -> HttpResponse:
    _police(request)
    compounds = p.jurisdiction(request.user)
    _form, f = _filters(request, compounds)
    buffer = BytesIO()
    workbook(compounds, f, timezone.now()).save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="police-alarms-{f.start:%Y%m%d}-{f.end:%Y%m%d}.xlsx"'
    return response
