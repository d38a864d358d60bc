"""The guard's phone page (Art 10; Art 6 patrol teams): pick a patrol that is running now, then read
its checkpoints one by one — scan the QR label with the camera or type the code printed under it —
with an optional photo and note, and report exceptions (异常) with a picture.

The page itself only reads. Check-ins and exceptions are written by the patrol API
(`POST /api/patrol/checkins`, `POST /api/patrol/exceptions`) from the page's outbox
(static/patrol/mobile.js), which keeps them on the phone with their original time until the
network takes them. Which runs a user may walk is decided by selectors.may_walk."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import choices as c
from . import selectors, services
from .models import Checkin, PatrolRun, RouteCheckpoint
from .schedule import LOCAL


def walkable_run(request: HttpRequest, pk: int) -> PatrolRun:
    run = get_object_or_404(
        selectors.runs_for(request.user).select_related("route", "compound", "guard", "team"), pk=pk
    )
    if not selectors.may_walk(request.user, run):
        raise Http404
    return run


def read_times(run: PatrolRun) -> dict[int, str]:
    """Checkpoint id → local time of its first counted read in this run."""
    firsts = (
        Checkin.objects.of_runs([run.pk])
        .filter(eligible=True, checkpoint__isnull=False)
        .order_by()
        .values("checkpoint_id")
        .annotate(at=Min("occurred_at"))
    )
    return {row["checkpoint_id"]: timezone.localtime(row["at"], LOCAL).strftime("%H:%M:%S") for row in firsts}


@login_required
def mobile(request: HttpRequest) -> HttpResponse:
    runs = selectors.running_runs(request.user)
    stops = dict(
        RouteCheckpoint.objects.filter(route_id__in={r.route_id for r in runs})
        .order_by()
        .values("route_id")
        .annotate(n=Count("id"))
        .values_list("route_id", "n")
    )
    rows = [(run, len(read_times(run)), stops.get(run.route_id, 0)) for run in runs]
    return render(request, "patrol/mobile.html", {"rows": rows, "now": timezone.now()})


@login_required
@require_POST
def mobile_start(request: HttpRequest, pk: int) -> HttpResponse:
    run = walkable_run(request, pk)
    try:
        services.start_run(run, request.user)
    except PermissionDenied as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("patrol:mobile")
    return redirect("patrol:mobile_run", pk=run.pk)


@login_required
def mobile_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = walkable_run(request, pk)
    stops = list(
        RouteCheckpoint.objects.filter(route_id=run.route_id).select_related("checkpoint").order_by("position")
    )
    read = read_times(run)
    api = f"{get_script_prefix()}api/patrol/"
    context = {
        "run": run,
        "stops": [(s, read.get(s.checkpoint_id, "")) for s in stops],
        "done": len(read),
        "total": len(stops),
        "percent": round(100 * len(read) / len(stops)) if stops else 0,
        "checkin_url": f"{api}checkins",
        "exception_url": f"{api}exceptions",
        "exception_kinds": c.ExceptionKind.choices,
        "texts": texts(),
    }
    return render(request, "patrol/mobile_run.html", context)


@login_required
@require_GET
def mobile_progress(request: HttpRequest, pk: int) -> JsonResponse:
    run = walkable_run(request, pk)
    read = read_times(run)
    total = RouteCheckpoint.objects.filter(route_id=run.route_id).count()
    run.refresh_from_db(fields=["status"])
    return JsonResponse(
        {"done": len(read), "total": total, "status": run.status, "read": {str(k): v for k, v in read.items()}}
    )


def texts() -> dict[str, str]:
    """The script's words, translated here so the page needs no JavaScript catalogue."""
    return {
        "queued": _("%(n)s 条待发送"),
        "allSent": _("已全部发送"),
        "online": _("在线"),
        "offline": _("离线"),
        "waiting": _("等待网络"),
        "nothingQueued": _("没有待发送的记录。"),
        "retrying": _("已重试 %(n)s 次，稍后再试"),
        "exception": _("异常上报"),
        "discard": _("放弃此条"),
        "discardConfirm": _("确定放弃这条被拒收的记录吗？放弃后不再发送。"),
        "rejected": _("服务器拒收（HTTP %(status)s）"),
        "rejectedPlain": _("服务器拒收"),
        "sending": _("正在发送…"),
        "savedOffline": _("已保存在手机上，恢复网络后自动发送（保留原签到时间）。"),
        "sent": _("已签到：%(code)s"),
        "exceptionSent": _("异常已上报。"),
        "codeRequired": _("请扫描二维码或输入巡查点标识码。"),
        "noteRequired": _("请填写异常情况说明。"),
        "scan": _("扫码"),
        "stopScan": _("停止扫码"),
        "scanned": _("已识别：%(code)s"),
        "cameraDenied": _("无法打开摄像头，请拍照识别或手动输入。"),
        "noCodeInPicture": _("照片中没有识别到二维码，请重拍或手动输入。"),
        "noScanner": _("此浏览器不支持扫码，请输入标签二维码下方印的编码。"),
    }


SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "patrol" / "sw.js"


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The offline cache of the phone pages, served from inside their scope (/patrol/m/)."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="application/javascript")
    response["Cache-Control"] = "no-cache"
    return response
