"""City / district / station compliance dashboard: the page, its Excel export and the button
that assesses the selected scope. Figures come from `dashboard.py`; this module only picks the
scope from the request and draws (inline SVG, no script)."""

from __future__ import annotations

import time
from io import BytesIO
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from . import dashboard as d
from . import services
from .engine import cite_local, get_pack

LIST_ALL_LIMIT = 300  # beyond this the page asks to pick a station (or export)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scope(request: HttpRequest, raw: str | None) -> d.Scope:
    try:
        org_id = int(raw) if raw else None
    except ValueError as exc:
        raise Http404 from exc
    scope = d.scope_of(request.user, org_id)
    if scope is None:  # not an organisation the user may look at
        raise Http404
    return scope


def _url(scope: d.Scope, name: str = "compliance:dashboard") -> str:
    url = reverse(name)
    return f"{url}?org={scope.current.id}" if scope.current else url


# --- charts: geometry computed here, drawn by the templates ---


SEGMENTS = ((d.PASS, "seg-pass"), (d.UNKNOWN, "seg-unknown"), (d.FAIL, "seg-fail"), (d.NA, "seg-na"))


def segments(counts: dict[str, int]) -> list[dict[str, Any]]:
    """One stacked bar in percent of its total: pass, unknown, fail, not applicable."""
    total, x, result = sum(counts.values()) or 1, 0.0, []
    for category, css in SEGMENTS:
        width = 100 * counts[category] / total
        if width:
            result.append(
                {
                    "css": css,
                    "x": round(x, 2),
                    "w": round(width, 2),
                    "n": counts[category],
                    "label": d.status_label(category),
                }
            )
        x += width
    return result


TREND_W, TREND_H, PAD_L, PAD_R, PAD_T, PAD_B = 760, 220, 44, 16, 12, 34


def trend_chart(points: list[d.TrendPoint]) -> dict[str, Any]:
    plot_w, plot_h = TREND_W - PAD_L - PAD_R, TREND_H - PAD_T - PAD_B
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0
    dots = []
    for i, p in enumerate(points):
        x = PAD_L + (i * step if len(points) > 1 else plot_w / 2)
        y = PAD_T + plot_h * (1 - (p.share or 0))
        dots.append({"x": round(x, 1), "y": round(y, 1), "point": p})
    label_every = max(1, len(points) // 8)
    return {
        "dots": dots,
        "line": " ".join(f"{p['x']},{p['y']}" for p in dots),
        "labels": [p for i, p in enumerate(dots) if i % label_every == 0 or i == len(dots) - 1],
        "grid": [{"y": round(PAD_T + plot_h * (1 - v / 100), 1), "label": f"{v}%"} for v in (0, 25, 50, 75, 100)],
        "width": TREND_W,
        "height": TREND_H,
        "left": PAD_L,
        "right": TREND_W - PAD_R,
        "axis_y": TREND_H - PAD_B + 16,
    }


# --- views ---


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = _scope(request, request.GET.get("org"))
    data = d.build(request.user, scope)
    context = {
        "data": data,
        "scope": scope,
        "can_run": services.can_assess(request.user),
        "export_url": _url(scope, "compliance:dashboard_export"),
        "article_rows": [(a, segments(a.counts)) for a in data.articles],
        "trend_chart": trend_chart(data.trend),
        "list_all": len(data.compounds) <= LIST_ALL_LIMIT,
    }
    return render(request, "compliance/dashboard.html", context)


@login_required
@require_POST
def dashboard_run(request: HttpRequest) -> HttpResponse:
    if not services.can_assess(request.user):
        raise PermissionDenied
    scope = _scope(request, request.POST.get("org"))
    compounds = services.assessable(request.user, d.compounds_in(request.user, scope))
    if not compounds.exists():
        messages.warning(request, _("本辖区没有可评估的小区。"))
        return redirect(_url(scope))
    started = time.monotonic()
    assessment = services.assess(
        request.user, compounds, get_pack(d.PACK), scope_label=scope.label or _("我的可见范围")
    )
    messages.success(
        request,
        _("已评估 %(n)d 个小区，用时 %(s).1f 秒。")
        % {"n": assessment.compounds_count, "s": time.monotonic() - started},
    )
    return redirect(_url(scope))


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list[Any]], percent_cols: set[int]) -> None:
    ws = wb.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8EEF7")
    for row in rows:
        ws.append(row)
    for col in percent_cols:
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            cell.number_format = "0.0%"
    for i, text in enumerate(header, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, len(str(text)) * 2 + 2)
    ws.freeze_panes = "A2"


def _local(value: Any) -> Any:
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def workbook(data: d.Dashboard) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(
        wb,
        _("条款符合率"),
        [_("条款"), _("符合"), _("不符合"), _("无法判断"), _("不适用"), _("符合率")],
        [[a.citation_local, a.passed, a.failed, a.unknown, a.not_applicable, a.rate] for a in data.articles],
        {6},
    )
    _sheet(
        wb,
        _("派出所"),
        [_("派出所"), _("小区数"), _("已评估"), _("从未评估"), _("无不符合条款"), _("存在不符合"), _("平均符合率")],
        [[s.name, s.compounds, s.assessed, s.never_assessed, s.compliant, s.failing, s.rate] for s in data.stations],
        {7},
    )
    _sheet(
        wb,
        _("问题小区"),
        [_("小区"), _("派出所"), _("不符合条款"), _("不符合项数"), _("符合率"), _("评估时间")],
        [
            [c.name, c.station_name, "、".join(c.failed_articles), c.n_fail, c.share, _local(c.assessed_at)]
            for c in data.worst
        ],
        {5},
    )
    keys = data.article_keys
    _sheet(
        wb,
        _("全部小区"),
        [_("小区"), _("派出所"), _("评估时间"), _("符合率")] + [cite_local(*k) for k in keys],
        [
            [c.name, c.station_name, _local(c.assessed_at), c.share] + [d.status_label(c.articles.get(k)) for k in keys]
            for c in data.compounds
        ],
        {4},
    )
    return wb


@login_required
def dashboard_export(request: HttpRequest) -> HttpResponse:
    scope = _scope(request, request.GET.get("org"))
    buffer = BytesIO()
    workbook(d.build(request.user, scope)).save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="compliance-dashboard-{stamp}.xlsx"'
    return response
