"""Coverage (Art 16: 24小时有人值班) and the daily operating record (Art 33(1): 有效记录监控运行信息)
of a compound: the day's unstaffed gaps with a 14-day overview, and the record as a page and a
PDF. Same audience as the other duty pages (views.py): the compound's duty staff and managers,
and the police of its jurisdiction (read-only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.core.views import paginate

from . import pdf, records, services
from .coverage import day_bounds
from .forms import parse_day
from .models import DailyRecord
from .present import RecordView, present
from .records import CompoundDay, compound_days, local_today
from .timeline import HOUR_TICKS, Block, blocks, future_block
from .views import compound_for, holds

OVERVIEW_DAYS = 14


def _day(raw: str | None, today: dt.date) -> dt.date:
    day = parse_day(raw, today)
    if day is None or day > today:
        raise Http404(_("日期无效或尚未到来。"))
    return day


# --- coverage -------------------------------------------------------------------------------------


@dataclass
class DayBar:
    """One day of the 14-day overview: staffed and unstaffed shares of the 24 hours."""

    cd: CompoundDay
    staffed: float  # percent of 24 h
    unstaffed: float
    future: float

    @property
    def day(self) -> dt.date:
        return self.cd.day

    @property
    def minutes(self) -> int:
        return self.cd.combined.unstaffed_minutes if self.cd.combined else 0

    @property
    def css(self) -> str:
        return "ok" if self.minutes == 0 else "warn" if self.minutes <= 30 else "bad"


def day_bar(cd: CompoundDay) -> DayBar | None:
    if cd.combined is None:
        return None
    start, end = day_bounds(cd.day)
    total = (end - start).total_seconds()
    judged = (cd.combined.until - start).total_seconds()
    unstaffed = sum((b - a).total_seconds() for a, b in cd.combined.gaps)
    return DayBar(cd, 100 * (judged - unstaffed) / total, 100 * unstaffed / total, 100 * (total - judged) / total)


@login_required
def coverage(request: HttpRequest, pk: int) -> HttpResponse:
    compound = compound_for(request, pk)
    now = timezone.now()
    today = local_today(now)
    day = _day(request.GET.get("day"), today)
    days = [day - dt.timedelta(days=OVERVIEW_DAYS - 1 - i) for i in range(OVERVIEW_DAYS)]
    covered = compound_days(compound, days, now=now)
    selected = covered[-1]
    combined = selected.combined
    rooms: list[tuple[object, list[Block], int]] = [
        (room, blocks(day, cov.gaps, css="gap") + future_block(day, cov.until), cov.unstaffed_minutes)
        for room, cov in selected.rooms
    ]
    context = {
        "compound": compound,
        "day": day,
        "today": today,
        "prev_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1) if day < today else None,
        "combined": combined,
        "combined_blocks": (blocks(day, combined.gaps, css="gap") + future_block(day, combined.until))
        if combined
        else [],
        "rooms": rooms,
        "gap_rows": [(room, b, b.end >= now) for room, room_blocks, _m in rooms for b in room_blocks if b.css == "gap"],
        "bars": [bar for bar in (day_bar(cd) for cd in covered) if bar is not None],
        "ticks": HOUR_TICKS,
    }
    return render(request, "duty/coverage.html", context)


# --- daily record ---------------------------------------------------------------------------------


def record_view(compound, day: dt.date, now: dt.datetime) -> RecordView:
    """The kept record when final; otherwise the figures as they stand now (not written)."""
    kept = records.stored(compound, day)
    if kept is not None and kept.final:
        return present(kept, stored=True)
    view = present(records.compute(compound, day, now=now), stored=False)
    view.kept = kept
    return view


@login_required
def record(request: HttpRequest, pk: int, day: str) -> HttpResponse:
    compound = compound_for(request, pk)
    now = timezone.now()
    today = local_today(now)
    the_day = _day(day, today)
    view = record_view(compound, the_day, now)
    context = {
        "compound": compound,
        "view": view,
        "r": view.record,
        "kept": view.kept,
        "day": the_day,
        "today": today,
        "prev_day": the_day - dt.timedelta(days=1),
        "next_day": the_day + dt.timedelta(days=1) if the_day < today else None,
        "can_keep": holds(request.user, compound, services.DUTY_ROLES),
        "ticks": HOUR_TICKS,
    }
    return render(request, "duty/record.html", context)


@login_required
@require_POST
def record_keep(request: HttpRequest, pk: int, day: str) -> HttpResponse:
    """Write the record now (final if the day is over; today's provisional). A final one stays."""
    compound = compound_for(request, pk)
    if not holds(request.user, compound, services.DUTY_ROLES):
        raise PermissionDenied(_("只有本小区的值班人员和管理人员可以存档运行记录。"))
    the_day = _day(day, local_today())
    kept, written = records.ensure(compound, the_day)
    if not written:
        messages.info(request, _("该日记录已定稿，不再改变。"))
    elif kept.final:
        messages.success(request, _("已存档并定稿 %(day)s 的运行记录。") % {"day": the_day.isoformat()})
    else:
        messages.success(
            request,
            _("已保存截至 %(time)s 的当日临时记录；次日凌晨自动定稿。")
            % {"time": timezone.localtime(kept.computed_at).strftime("%H:%M")},
        )
    return redirect("duty:record", pk=compound.pk, day=the_day.isoformat())


@login_required
def record_pdf(request: HttpRequest, pk: int, day: str) -> HttpResponse:
    compound = compound_for(request, pk)
    now = timezone.now()
    the_day = _day(day, local_today(now))
    view = record_view(compound, the_day, now)
    response = HttpResponse(pdf.render_pdf(view), content_type="application/pdf")
    response["Content-Disposition"] = pdf.content_disposition(view)
    return response


@login_required
def record_list(request: HttpRequest, pk: int) -> HttpResponse:
    compound = compound_for(request, pk)
    page = paginate(request, DailyRecord.objects.filter(compound=compound).order_by("-day"), 31)
    return render(request, "duty/record_list.html", {"compound": compound, "page": page, "today": local_today()})


@login_required
def record_today(request: HttpRequest, pk: int) -> HttpResponse:
    compound = compound_for(request, pk)
    return redirect("duty:record", pk=compound.pk, day=local_today().isoformat())
