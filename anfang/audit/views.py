"""Audit pages (Art 33(5)): browse the access audit in one's scope (filters, pages, CSV/Excel export
— itself audited — and the chain status), and the export approval flow: request, my requests,
the approval queue, one request with its decision and download."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.compounds.models import Compound
from anfang.core.grants import has_role, is_platform_admin
from anfang.core.storage import StoreUnavailable
from anfang.core.views import add_service_errors

from . import files, selectors, services
from .choices import AuditAction, ExportStatus
from .forms import AuditFilterForm, DecisionForm, ExportRequestForm
from .models import AuditEntry, ExportRequest

PAGE_SIZE = 50
MAX_AUDIT_EXPORT_ROWS = 100_000
HEADERS = ("序号", "时间", "操作人", "操作", "对象类型", "对象", "小区", "用途", "来源地址", "详情", "哈希")


def _require_browse(request: HttpRequest) -> None:
    if not selectors.can_browse(request.user):
        raise PermissionDenied(_("您没有查看访问审计的权限。"))


def _compound_names(entries: list[AuditEntry]) -> dict[int, str]:
    ids = {e.compound_id for e in entries if e.compound_id}
    return dict(Compound.objects.filter(pk__in=ids).values_list("pk", "name"))


@login_required
def entry_list(request: HttpRequest) -> HttpResponseBase:
    _require_browse(request)
    form = AuditFilterForm(request.GET or None, compounds=selectors.browsable_compounds(request.user))
    qs = form.apply(selectors.visible_entries(request.user)).order_by("-seq")
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return _export_entries(request, form, qs, fmt)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    names = _compound_names(list(page.object_list))
    context = {
        "form": form,
        "page": page,
        "rows": [(entry, names.get(entry.compound_id or 0, "")) for entry in page.object_list],
        "status": services.chain_status(),
        "can_verify": is_platform_admin(request.user),
    }
    return render(request, "audit/entry_list.html", context)


def _export_entries(request: HttpRequest, form: AuditFilterForm, qs: Any, fmt: str) -> HttpResponse:
    """The filtered audit as CSV or Excel; the export is itself an audit entry."""
    entries = list(qs[:MAX_AUDIT_EXPORT_ROWS])
    names = _compound_names(entries)
    labels = dict(AuditAction.choices)
    rows = [
        [
            e.seq,
            e.at,
            e.actor_name,
            str(labels.get(e.action, e.action)),
            e.object_type,
            e.object_id,
            names.get(e.compound_id, e.compound_id or ""),
            e.purpose,
            e.remote_addr or "",
            e.detail,
            e.hash,
        ]
        for e in entries
    ]
    filters = {k: str(v) for k, v in (getattr(form, "cleaned_data", {}) or {}).items() if v not in (None, "")}
    services.record_request(
        request, AuditAction.EXPORT, "audit.entry", detail={"format": fmt, "rows": len(rows), "filters": filters}
    )
    mark = files.Watermark(requester=request.user.get_username(), approver="—", at=timezone.now(), request_id="audit")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        data, _n = files.write_csv(HEADERS, rows, watermark=mark)
        content_type = "text/csv; charset=utf-8"
    else:
        data, _n = files.write_xlsx(HEADERS, rows, title="访问审计", watermark=mark)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="anfang-audit-{stamp}.{fmt}"'
    return response


@login_required
@require_POST
def verify_now(request: HttpRequest) -> HttpResponse:
    if not is_platform_admin(request.user):
        raise PermissionDenied(_("只有平台管理员可以校验审计链。"))
    result, _run = services.verify_and_log()
    if result.intact:
        messages.success(request, _("审计链完整：已校验 %(n)d 条。") % {"n": result.checked})
    else:
        messages.error(request, _("审计链有 %(n)d 处断点，请查看校验结果。") % {"n": len(result.breaks)})
    return redirect("audit:list")


# --- Export approval -------------------------------------------------------------------------


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.my_exports(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "queue_count": selectors.approval_queue(request.user).count(), "tab": "mine"}
    return render(request, "audit/export_list.html", context)


@login_required
def export_queue(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, services.APPROVER_ROLES):
        raise PermissionDenied(_("您没有审批导出申请的权限。"))
    queue = selectors.approval_queue(request.user)
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit/export_list.html", {"page": page, "queue_count": queue.count(), "tab": "queue"})


@login_required
def export_new(request: HttpRequest) -> HttpResponse:
    compounds = Compound.objects.visible_to(request.user).active()
    form = ExportRequestForm(request.POST or None, compounds=compounds)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            export = services.request_export(
                request.user,
                kind=data["kind"],
                compounds=list(data["compounds"]),
                date_from=data["date_from"],
                date_to=data["date_to"],
                purpose=data["purpose"],
                fmt=data["fmt"],
                filters=form.filters(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("导出申请已提交，等待另一位有审批权限的人员审批。"))
            return redirect("audit:export", pk=export.pk)
    return render(request, "audit/export_form.html", {"form": form})


def _visible_export(request: HttpRequest, pk: int) -> ExportRequest:
    return get_object_or_404(selectors.visible_exports(request.user), pk=pk)


@login_required
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    export = _visible_export(request, pk)
    context = {
        "export": export,
        "compounds": list(export.compounds.order_by("name")),
        "can_decide": export.status == ExportStatus.REQUESTED and services.can_approve(request.user, export),
        "can_download": (
            request.user.pk == export.requester_id
            and export.status in (ExportStatus.APPROVED, ExportStatus.DOWNLOADED)
            and export.file_ref
            and export.expires_at
            and export.expires_at > timezone.now()
            and export.downloads < _max_downloads()
        ),
        "decision_form": DecisionForm(),
        "own": request.user.pk == export.requester_id,
    }
    return render(request, "audit/export_detail.html", context)


def _max_downloads() -> int:
    return int(settings.ANFANG_EXPORT_MAX_DOWNLOADS)


@login_required
@require_POST
def export_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    export = _visible_export(request, pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        if decision == "approve":
            services.approve_export(request.user, export, note)
            messages.success(request, _("已批准，导出文件已生成（带水印）。"))
        else:
            services.reject_export(request.user, export, note)
            messages.success(request, _("已驳回该导出申请。"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except StoreUnavailable:
        messages.error(request, _("媒体存储暂时不可用，导出文件未能生成；申请仍待审批，请稍后重试。"))
    return redirect("audit:export", pk=export.pk)


@login_required
@require_POST
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    export = _visible_export(request, pk)
    try:
        handle, export = services.open_export(request.user, export)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("audit:export", pk=export.pk)
    except StoreUnavailable:
        messages.error(request, _("媒体存储暂时不可用，请稍后重试（未计入下载次数）。"))
        return redirect("audit:export", pk=export.pk)
    except FileNotFoundError:
        messages.error(request, _("导出文件已不存在，请重新申请。"))
        return redirect("audit:export", pk=export.pk)
    assert export.file_ref is not None
    response = FileResponse(handle, content_type=export.file_ref["type"], as_attachment=True, filename=export.file_name)
    response["Cache-Control"] = "private, no-store"
    return response
