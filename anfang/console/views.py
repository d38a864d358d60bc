"""The live duty console (issue 6 §3; Art 16: 治安值班室和小区监控中心应当24小时有人值班，发现报警
（求助）信号，视情况进行处理): one page per compound with the alarm queue, the detail of the alarm in
hand, the latest events and the device board, kept current over Server-Sent Events.

Only users with a HANDLE_ROLES grant covering the compound see its console (404 otherwise, so a
console does not reveal which compounds exist). Fragments are re-read by the page when the stream
says something changed, and after every reconnect."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from anfang.alarms.choices import Status
from anfang.alarms.models import Alarm
from anfang.compounds.models import Compound
from anfang.core.choices import Role
from anfang.core.grants import has_role

from . import bus, selectors, sse

SESSION_KEY = "console_compound"


def _compound(request: HttpRequest, pk: int) -> Compound:
    return get_object_or_404(selectors.console_compounds(request.user), pk=pk)


def client_texts() -> dict[str, Any]:
    """Words the page's script shows, translated here (the script has no catalogue of its own)."""
    return {
        "connected": _("实时连接"),
        "connecting": _("正在连接…"),
        "reconnecting": _("连接中断，正在重连"),
        "lost": _("与服务器的连接已中断：新报警可能无法显示。正在重新连接…"),
        "lost_for": _("已断开 %(s)s 秒"),
        "resynced": _("已重新连接，报警队列已同步"),
        "sound_on": _("声音已开启"),
        "sound_off": _("声音未开启"),
        "muted": _("已静音 %(s)s 秒"),
        "new_alarm": _("新报警"),
        "title": _("值班台"),
        "just_now": _("刚刚"),
        "age_s": _("%(n)s 秒"),
        "age_m": _("%(n)s 分钟"),
        "age_h": _("%(n)s 小时"),
        "updated": _("该报警刚被更新（%(status)s）。"),
        "reload": _("刷新"),
        "statuses": {value: str(label) for value, label in Status.choices},
    }


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The operator's console: the one compound they handle, the one they chose last time, or a
    choice. Guards without a console go to their dispatches."""
    compounds = selectors.console_compounds(request.user)
    remembered = request.session.get(SESSION_KEY)
    if remembered and not request.GET.get("pick") and compounds.filter(pk=remembered).exists():
        return redirect("console:compound", remembered)
    if not request.GET.get("pick"):
        only = list(compounds.values_list("pk", flat=True)[:2])
        if len(only) == 1:
            return redirect("console:compound", only[0])
    rows = list(selectors.with_open_counts(compounds))
    if not rows:
        if has_role(request.user, {Role.GUARD}):
            return redirect("alarms:mine")
        return render(request, "console/no_console.html", status=403)
    return render(request, "console/pick.html", {"compounds": rows, "current": remembered})


@login_required
@require_GET
def console(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = _compound(request, compound_id)
    if request.session.get(SESSION_KEY) != compound.pk:  # remembered for /console/; no write otherwise
        request.session[SESSION_KEY] = compound.pk
    bus.ensure_listener()
    position = sse.position_id(bus.HUB.seq)  # before reading: anything later is replayed by the stream
    now = timezone.now()
    board = selectors.device_board(compound.pk, now)
    events = selectors.latest_events(compound.pk, board.devices)
    queue = selectors.alarm_queue(compound.pk)
    selected = None
    if request.GET.get("alarm", "").isdigit():
        selected = int(request.GET["alarm"])
        if selected not in queue.alarm_ids and not Alarm.objects.filter(pk=selected, compound=compound).exists():
            selected = None
    context = {
        "compound": compound,
        "queue": queue,
        "events": events,
        "board": board,
        "on_duty": selectors.on_duty(compound.pk),
        "log": selectors.recent_log(compound.pk),
        "position": position,
        "selected": selected,
        "now": now,
        "texts": client_texts(),
        "several": selectors.console_compounds(request.user).exclude(pk=compound.pk).exists(),
        "offline_minutes": int(selectors.offline_after().total_seconds() // 60),
    }
    return render(request, "console/console.html", context)


@login_required
@require_GET
def queue(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = _compound(request, compound_id)
    return render(request, "console/_queue.html", {"compound": compound, "queue": selectors.alarm_queue(compound.pk)})


@login_required
@require_GET
def events(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = _compound(request, compound_id)
    board = selectors.device_board(compound.pk)
    rows = selectors.latest_events(compound.pk, board.devices)
    return render(request, "console/_events.html", {"compound": compound, "events": rows})


@login_required
@require_GET
def devices(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = _compound(request, compound_id)
    context = {
        "compound": compound,
        "board": selectors.device_board(compound.pk),
        "offline_minutes": int(selectors.offline_after().total_seconds() // 60),
    }
    return render(request, "console/_devices.html", context)


@login_required
@require_GET
def idle(request: HttpRequest, compound_id: int) -> HttpResponse:
    """What the detail column shows when no alarm is selected: who is on duty, the latest log."""
    compound = _compound(request, compound_id)
    context = {
        "compound": compound,
        "on_duty": selectors.on_duty(compound.pk),
        "log": selectors.recent_log(compound.pk),
    }
    return render(request, "console/_idle.html", context)


@login_required
@require_GET
def stream(request: HttpRequest, compound_id: int) -> StreamingHttpResponse:
    """Server-Sent Events for one compound's console (see sse.py for framing and resuming)."""
    compound = _compound(request, compound_id)
    bus.ensure_listener()
    seq, resumed = sse.start_position(request.headers.get("Last-Event-ID") or request.GET.get("after"))
    content: Any = (
        sse.async_stream(compound.pk, seq, resumed)
        if isinstance(request, ASGIRequest)
        else sse.sync_stream(compound.pk, seq, resumed)
    )
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each frame on at once
    return response
