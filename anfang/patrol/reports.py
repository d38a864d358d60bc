"""Patrol reports (Art 10: the patrol process is managed and controlled, so it can be accounted
for): per guard, route, team or compound, per day or month — how many patrols were due, how many
were walked completely, the share of checkpoints read, punctuality and the exceptions reported.

Everything is grouped in the database (one query for the runs, one for the exceptions, one per
kind of name), whatever the number of runs. Definitions, also printed under the table:
- a run counts on the local day its window starts; only closed runs (evaluated after their window
  and grace) are judged; runs still open are counted apart;
- checkpoint completion = checkpoints read / checkpoints due, over closed runs;
- completed runs = closed runs with no checkpoint missed;
- punctuality = runs started and finished within their window / closed runs that were started;
- exceptions (异常) count by the local date they were reported."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from anfang.compounds.models import Compound

from . import choices as c
from .models import PatrolException, PatrolRun, PatrolTeam, Route
from .schedule import LOCAL

KEY_FIELDS = {
    "guard": ("guard_id", "guard_id"),
    "route": ("route_id", "run__route_id"),
    "team": ("team_id", "run__team_id"),
    "compound": ("compound_id", "compound_id"),
}
OFF_TIME = (c.Punctuality.EARLY, c.Punctuality.LATE, c.Punctuality.EARLY_LATE)


@dataclass
class Row:
    key: int | None
    name: str
    period: dt.date | None
    runs: int = 0
    open: int = 0
    completed: int = 0
    incomplete: int = 0
    missed: int = 0
    expected_points: int = 0
    read_points: int = 0
    started: int = 0
    on_time: int = 0
    off_time: int = 0
    out_of_order: int = 0
    too_fast: int = 0
    exceptions: int = 0
    score_sum: float = 0.0
    scored: int = 0

    @property
    def closed(self) -> int:
        return self.completed + self.incomplete + self.missed

    @property
    def completion_rate(self) -> float | None:
        return self.read_points / self.expected_points if self.expected_points else None

    @property
    def run_completion_rate(self) -> float | None:
        return self.completed / self.closed if self.closed else None

    @property
    def punctuality_rate(self) -> float | None:
        return self.on_time / self.started if self.started else None

    @property
    def avg_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None

    @property
    def css(self) -> str:
        """good / fair / poor by checkpoint completion, for the colour of the rate."""
        rate = self.completion_rate
        if rate is None:
            return ""
        return "good" if rate >= 0.95 else "fair" if rate >= 0.8 else "poor"

    def add(self, other: Row) -> None:
        for name in (
            "runs",
            "open",
            "completed",
            "incomplete",
            "missed",
            "expected_points",
            "read_points",
            "started",
            "on_time",
            "off_time",
            "out_of_order",
            "too_fast",
            "exceptions",
            "score_sum",
            "scored",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    by: str
    period: str
    since: dt.date
    until: dt.date
    compound: Compound | None
    rows: list[Row] = field(default_factory=list)
    total: Row = field(default_factory=lambda: Row(None, "", None))

    @property
    def by_label(self) -> str:
        from .filters import DIMENSIONS

        return str(dict(DIMENSIONS)[self.by])


def _bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(since, dt.time(), LOCAL)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), LOCAL)
    return start, end


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, LOCAL).date() if timezone.is_aware(value) else value.date()
    return value


def _names(by: str, keys: Iterable[int]) -> dict[int, str]:
    ids = list(keys)
    if by == "guard":
        return {u.pk: (u.get_full_name() or u.get_username()) for u in get_user_model().objects.filter(pk__in=ids)}
    if by == "route":
        return {
            r.pk: f"{r.compound.name} · {r.name}" for r in Route.objects.filter(pk__in=ids).select_related("compound")
        }
    if by == "team":
        return dict(PatrolTeam.objects.filter(pk__in=ids).values_list("pk", "name"))
    return dict(Compound.objects.filter(pk__in=ids).values_list("pk", "name"))


def build(
    runs: QuerySet[PatrolRun],
    exceptions: QuerySet[PatrolException],
    *,
    by: str,
    period: str,
    since: dt.date,
    until: dt.date,
    compound: Compound | None = None,
) -> Report:
    """The report over runs (already scoped to the user) whose local day is in since..until."""
    run_key, exception_key = KEY_FIELDS[by]
    runs = runs.filter(day__gte=since, day__lte=until)
    start, end = _bounds(since, until)
    exceptions = exceptions.filter(at__gte=start, at__lt=end)
    if compound is not None:
        runs = runs.filter(compound=compound)
        exceptions = exceptions.filter(compound=compound)
    bucket = TruncMonth("day") if period == "month" else F("day")
    closed = Q(status__in=c.CLOSED_STATUSES)
    grouped = (
        runs.order_by()
        .values(key=F(run_key), bucket=bucket)
        .annotate(
            runs=Count("id"),
            open=Count("id", filter=Q(status__in=c.OPEN_STATUSES)),
            completed=Count("id", filter=Q(status=c.RunStatus.COMPLETED)),
            incomplete=Count("id", filter=Q(status=c.RunStatus.INCOMPLETE)),
            missed=Count("id", filter=Q(status=c.RunStatus.MISSED)),
            expected_points=Sum("expected_count", filter=closed),
            read_points=Sum("completed_count", filter=closed),
            started=Count("id", filter=closed & Q(started_at__isnull=False)),
            on_time=Count("id", filter=closed & Q(punctuality=c.Punctuality.ON_TIME)),
            off_time=Count("id", filter=closed & Q(punctuality__in=OFF_TIME)),
            out_of_order=Count("id", filter=closed & Q(out_of_order__gt=0)),
            score_sum=Sum("score", filter=closed),
            scored=Count("score", filter=closed),
        )
    )
    rows: dict[tuple[int | None, dt.date | None], Row] = {}
    for group in grouped:
        values: dict[str, Any] = dict(group)
        key, day = values.pop("key"), _as_date(values.pop("bucket"))
        rows[(key, day)] = Row(key, "", day, **{k: v or 0 for k, v in values.items()})
    fast = runs.filter(closed).exclude(too_fast_legs=[]).order_by().values(key=F(run_key), bucket=bucket)
    for counted in fast.annotate(n=Count("id")):
        found = rows.get((counted["key"], _as_date(counted["bucket"])))
        if found is not None:
            found.too_fast += counted["n"]
    ex_bucket = TruncMonth("at", tzinfo=LOCAL) if period == "month" else TruncDate("at", tzinfo=LOCAL)
    for reported in exceptions.order_by().values(key=F(exception_key), bucket=ex_bucket).annotate(n=Count("id")):
        day = _as_date(reported["bucket"])
        if period == "month" and day is not None:
            day = day.replace(day=1)
        row = rows.setdefault((reported["key"], day), Row(reported["key"], "", day))
        row.exceptions += reported["n"]
    names = _names(by, {k for k, _d in rows if k is not None})
    unassigned = _("（未指定）")
    report = Report(by, period, since, until, compound)
    for (key, _day), row in rows.items():
        row.name = names.get(key, unassigned) if key is not None else unassigned
        report.total.add(row)
    report.rows = sorted(rows.values(), key=lambda r: (r.name, r.period or dt.date.min))
    return report


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def period_label(report: Report, row: Row) -> str:
    if row.period is None:
        return "—"
    return row.period.strftime("%Y-%m") if report.period == "month" else row.period.isoformat()


HEADERS = (
    _l("统计对象"),
    _l("周期"),
    _l("应巡次数"),
    _l("进行中"),
    _l("完成"),
    _l("未完成（漏检）"),
    _l("漏巡"),
    _l("应巡点数"),
    _l("已巡点数"),
    _l("巡查点完成率"),
    _l("整趟完成率"),
    _l("准时率"),
    _l("提前/超时"),
    _l("顺序错误"),
    _l("过快"),
    _l("异常"),
    _l("平均得分"),
)


def headers() -> list[str]:
    return [str(h) for h in HEADERS]


def cells(report: Report, row: Row, *, name: str | None = None) -> list[Any]:
    return [
        row.name if name is None else name,
        period_label(report, row) if name is None else "",
        row.runs,
        row.open,
        row.completed,
        row.incomplete,
        row.missed,
        row.expected_points,
        row.read_points,
        None if row.completion_rate is None else round(row.completion_rate, 4),
        None if row.run_completion_rate is None else round(row.run_completion_rate, 4),
        None if row.punctuality_rate is None else round(row.punctuality_rate, 4),
        row.off_time,
        row.out_of_order,
        row.too_fast,
        row.exceptions,
        None if row.avg_score is None else round(row.avg_score, 1),
    ]


def workbook_bytes(report: Report, runs: QuerySet[PatrolRun]) -> bytes:
    """The report as .xlsx: the grouped table (with a total row) and the runs it was computed from."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = _("巡查统计")
    title = _("电子巡查统计（第10条）：按%(by)s，%(since)s 至 %(until)s") % {
        "by": report.by_label,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
    }
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    if report.compound is not None:
        ws.append([_("小区"), report.compound.name])
    ws.append([])
    ws.append(headers())
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for row in report.rows:
        ws.append(cells(report, row))
    ws.append(cells(report, report.total, name=_("合计")))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for col in (10, 11, 12):
        for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=col, max_col=col):
            cell.number_format = "0.0%"
    for i, width in enumerate((24, 10, 9, 8, 8, 12, 8, 9, 9, 12, 11, 9, 10, 9, 7, 7, 9), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)

    detail = wb.create_sheet(_("巡查明细"))
    detail.append(
        [
            _("编号"),
            _("日期"),
            _("小区"),
            _("路线"),
            _("巡查人员"),
            _("巡防队伍"),
            _("计划开始"),
            _("计划结束"),
            _("首次签到"),
            _("末次签到"),
            _("结果"),
            _("应巡点数"),
            _("已巡点数"),
            _("准时性"),
            _("顺序错误次数"),
            _("过快路段"),
            _("得分"),
        ]
    )
    for cell in detail[1]:
        cell.font = Font(bold=True)
    status_labels = dict(c.RunStatus.choices)
    punctuality_labels = dict(c.Punctuality.choices)

    def local(moment: dt.datetime | None) -> str:
        return timezone.localtime(moment, LOCAL).strftime("%Y-%m-%d %H:%M") if moment else ""

    for run in (
        runs.select_related("compound", "route", "guard", "team")
        .order_by("window_start", "id")
        .iterator(chunk_size=1000)
    ):
        detail.append(
            [
                run.pk,
                run.day.isoformat(),
                run.compound.name,
                run.route.name,
                (run.guard.get_full_name() or run.guard.get_username()) if run.guard else "",
                run.team.name if run.team else "",
                local(run.window_start),
                local(run.window_end),
                local(run.started_at),
                local(run.finished_at),
                str(status_labels.get(run.status, run.status)),
                run.expected_count,
                run.completed_count,
                str(punctuality_labels.get(run.punctuality, "")) if run.punctuality else "",
                run.out_of_order,
                len(run.too_fast_legs or []),
                run.score,
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render_pdf(report: Report) -> bytes:
    from django.conf import settings
    from weasyprint import HTML  # imported here: loading the native libraries is slow and may fail

    from anfang.compliance.pdf import css_counter_content

    html = render_to_string(
        "patrol/report_pdf.html",
        {
            "report": report,
            "rows": [(row, period_label(report, row)) for row in report.rows],
            "generated_at": timezone.localtime(timezone.now(), LOCAL),
            "page_counter": css_counter_content(_("第 {page} 页 / 共 {pages} 页")),
        },
    )
    return HTML(string=html, base_url=str(settings.BASE_DIR / "anfang" / "patrol")).write_pdf()


def file_name(report: Report, ext: str) -> tuple[str, str]:
    """(ASCII fallback, real name) of a download."""
    stem = f"patrol-report-{report.by}-{report.since:%Y%m%d}-{report.until:%Y%m%d}"
    real = f"{_('巡查统计')}-{report.by_label}-{report.since:%Y%m%d}-{report.until:%Y%m%d}"
    return f"{stem}.{ext}", f"{real}.{ext}"
