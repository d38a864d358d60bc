"""Retention pages: policies (floors and settings, Art 33(2)), legal holds, the purge log with its
downloadable report, and the video retention evidence per camera."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from anfang.compounds.models import Compound
from anfang.core.grants import is_platform_admin
from anfang.core.views import add_service_errors

from . import purge as purge_module
from . import selectors, services
from .forms import HoldForm, PolicyForm, ReleaseForm
from .models import PurgeRun
from .registry import CLASSES


def _sees_compounds(user: Any) -> None:
    if not is_platform_admin(user) and not Compound.objects.visible_to(user).exists():
        raise PermissionDenied(_("您没有可查看的小区。"))


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    """Each data class: its floor and the article (or the platform's reason), the setting, the oldest
    data kept; the compounds' overrides; a form to change a setting."""
    _sees_compounds(request.user)
    admin = is_platform_admin(request.user)
    compounds = services.policy_compounds(request.user).order_by("name")
    may_edit = admin or compounds.exists()
    form = PolicyForm(request.POST or None, compounds=compounds, allow_global=admin)
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("您不能修改保存策略。"))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.set_policy(
                    request.user, data["data_class"], data["days"], compound=data["compound"], note=data["note"]
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("保存策略已更新。"))
                return redirect("retention:policies")
    return render(
        request,
        "retention/policies.html",
        {
            "rows": selectors.class_rows(),
            "overrides": selectors.overrides_visible(request.user),
            "form": form,
            "may_edit": may_edit,
            "editable_ids": set(compounds.values_list("pk", flat=True)),
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@login_required
@require_POST
def override_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(selectors.overrides_visible(request.user), pk=pk)
    try:
        services.clear_override(request.user, policy)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已删除该小区的单独设置，改用全局设置。"))
    return redirect("retention:policies")


@login_required
def holds(request: HttpRequest) -> HttpResponse:
    user = request.user
    may_hold = services.may_hold(user)
    if not may_hold and not selectors.holds_visible(user).exists():
        raise PermissionDenied(_("您没有查看法律保全的权限。"))
    compounds = (
        services.hold_compounds(user).order_by("name")
        if not is_platform_admin(user)
        else Compound.objects.order_by("name")
    )
    form = HoldForm(request.POST or None, compounds=compounds)
    if request.method == "POST":
        if not may_hold:
            raise PermissionDenied(_("您不能设置法律保全。"))
        if form.is_valid():
            try:
                services.place_hold(user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("法律保全已设置：所涉数据不会被清理。"))
                return redirect("retention:holds")
    state = request.GET.get("state", "active")
    qs = selectors.holds_visible(user)
    if state == "active":
        qs = qs.filter(released_at=None)
    elif state == "released":
        qs = qs.exclude(released_at=None)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    for hold in page.object_list:
        hold.releasable = hold.active and services.may_release(user, hold)  # type: ignore[attr-defined]
    return render(
        request,
        "retention/holds.html",
        {"page": page, "form": form, "may_hold": may_hold, "state": state, "release_form": ReleaseForm()},
        status=400 if request.method == "POST" and form.errors else 200,
    )


@login_required
@require_POST
def hold_release(request: HttpRequest, pk: int) -> HttpResponse:
    hold = get_object_or_404(selectors.holds_visible(request.user), pk=pk)
    form = ReleaseForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.release_hold(request.user, hold, note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("保全 %(case)s 已解除。") % {"case": hold.case_number})
    return redirect("retention:holds")


def _admin_only(user: Any) -> None:
    if not is_platform_admin(user):
        raise PermissionDenied(_("只有平台管理员可以查看和执行数据清理。"))


@login_required
def runs(request: HttpRequest) -> HttpResponse:
    _admin_only(request.user)
    page = Paginator(PurgeRun.objects.select_related("actor"), 25).get_page(request.GET.get("page"))
    return render(request, "retention/runs.html", {"page": page, "classes": CLASSES})


@login_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    _admin_only(request.user)
    data_class = request.POST.get("data_class", "")
    if data_class and data_class not in CLASSES:
        messages.error(request, _("未知的数据类别：%(v)s") % {"v": data_class})
        return redirect("retention:runs")
    run = purge_module.purge(
        actor=request.user,
        dry_run=request.POST.get("dry_run") == "1",
        data_class=data_class,
        trigger="web",
        sweep=request.POST.get("sweep") == "1",
    )
    return redirect("retention:run", pk=run.pk)


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request.user)
    run = get_object_or_404(PurgeRun.objects.select_related("actor"), pk=pk)
    classes = [(key, data) for key, data in (run.report.get("classes") or {}).items()]
    return render(request, "retention/run.html", {"run": run, "classes": classes})


REPORT_COLUMNS = (
    ("label", "数据类别"),
    ("days", "保存天数"),
    ("cutoff", "截止时间"),
    ("rows", "行数"),
    ("partitions", "按日分区"),
    ("moved_rows", "移出分区的保留行"),
    ("held_rows", "保全保留行"),
    ("files", "文件数"),
    ("bytes", "字节数"),
    ("shared_files_kept", "共用而保留的文件"),
    ("missing_files", "缺失的文件"),
    ("checkpoint", "审计检查点序号"),
    ("skipped", "跳过原因"),
)


@login_required
def run_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's report as a workbook: one row per data class, the missing files on a second sheet."""
    _admin_only(request.user)
    run = get_object_or_404(PurgeRun, pk=pk)
    book = Workbook()
    sheet = book.active
    sheet.title = "report"
    sheet.append([f"#{run.pk}", "演练" if run.dry_run else "清理", run.get_status_display(), str(run.started_at)])
    sheet.append([title for _key, title in REPORT_COLUMNS])
    missing = book.create_sheet("missing")
    missing.append(["数据类别", "缺失的文件"])
    for key, data in (run.report.get("classes") or {}).items():
        row = []
        for column, _title in REPORT_COLUMNS:
            value = data.get(column)
            row.append(", ".join(value) if isinstance(value, list) else value)
        sheet.append(row)
        for path in data.get("missing") or []:
            missing.append([key, path])
    errors = book.create_sheet("errors")
    for error in run.errors or []:
        errors.append([error])
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = timezone.localtime(run.started_at).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="purge-{run.pk}-{stamp}.xlsx"'
    return response


@login_required
def video(request: HttpRequest) -> HttpResponse:
    """Each recorder channel's days of recording against the 1-month floor (Art 33(2))."""
    _sees_compounds(request.user)
    compound = None
    if request.GET.get("compound"):
        try:
            compound = get_object_or_404(Compound.objects.visible_to(request.user), pk=int(request.GET["compound"]))
        except ValueError:
            compound = None
    rows = selectors.video_rows(request.user, compound)
    return render(
        request,
        "retention/video.html",
        {
            "rows": rows,
            "floor": selectors.VIDEO_FLOOR,
            "compound": compound,
            "compounds": Compound.objects.visible_to(request.user).order_by("name"),
            "failing": sum(1 for r in rows if r.ok is False),
        },
    )
