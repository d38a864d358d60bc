"""Alarm pages: one alarm with its events, pictures and timeline, and the step forms
(acknowledge, dispatch, on site, close, report to police — Art 16), plus a guard's own dispatches.

Each page is also a fragment: the live console loads the alarm panel with HTMX and the step
forms post back into it. A refused step is answered with the panel and the reason in plain words
(409 when the alarm moved on — "已由 X 于 10:02 确认" —, 400 for missing input, 403 for no right);
without JavaScript the same forms post and redirect.

Who sees an alarm: users with a HANDLE_ROLES grant covering its compound, and the guard it was
dispatched to (who may only report arrival). Everyone else gets 404."""

from __future__ import annotations

from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from anfang.compounds.models import Compound
from anfang.console import selectors

from . import choices as c
from . import services
from .forms import CloseForm, DispatchForm, PoliceReportForm, StepNoteForm
from .models import Alarm

ALARM_RELATED = (
    "compound",
    "compound__police_station",
    "compound__community",
    "compound__property_company",
    "device",
    "acknowledged_by",
    "dispatched_to",
    "closed_by",
)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _alarm(request: HttpRequest, pk: int) -> tuple[Alarm, bool]:
    """The alarm and whether the user handles it (else they are the guard sent to it)."""
    alarm = Alarm.objects.select_related(*ALARM_RELATED).filter(pk=pk).first()
    if alarm is None:
        raise Http404(_("报警不存在。"))
    handles = (
        Compound.objects.in_scope_of_roles(request.user, services.HANDLE_ROLES).filter(pk=alarm.compound_id).exists()
    )
    if not handles and alarm.dispatched_to_id != request.user.pk:
        raise Http404(_("报警不存在。"))
    return alarm, handles


def _actions(alarm: Alarm, handles: bool, user: Any, has_report: bool) -> set[str]:
    """The steps this user can take on this alarm now."""
    status = alarm.status
    if not handles:
        own = alarm.dispatched_to_id == user.pk
        return {"arrive"} if own and status == c.Status.DISPATCHED else set()
    allowed = {to_action for to, to_action in STEP_ACTIONS.items() if status in c.TRANSITIONS[to]}
    if status != c.Status.NEW and not has_report:
        allowed.add("report")
    return allowed


STEP_ACTIONS = {
    c.Status.ACKNOWLEDGED: "acknowledge",
    c.Status.DISPATCHED: "dispatch",
    c.Status.ON_SITE: "arrive",
    c.Status.CLOSED: "close",
}


def _panel(
    request: HttpRequest,
    alarm: Alarm,
    handles: bool,
    *,
    bound: dict[str, djforms.Form] | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    alarm = Alarm.objects.select_related(*ALARM_RELATED).get(pk=alarm.pk)  # the state now, after any step
    detail = selectors.alarm_detail(alarm)
    guards = selectors.guards_of(alarm.compound) if handles else None
    forms: dict[str, djforms.Form] = {
        "dispatch": DispatchForm(guards=guards) if guards is not None else None,  # type: ignore[dict-item]
        "close": CloseForm(),
        "report": PoliceReportForm(auto_id=f"report-{alarm.pk}-%s"),
        "arrive": StepNoteForm(),
    }
    forms.update(bound or {})
    context = {
        "alarm": alarm,
        "detail": detail,
        "handles": handles,
        "actions": _actions(alarm, handles, request.user, detail.police_report is not None),
        "forms": forms,
        "error": error,
        "notice": notice,
        "no_guards": guards is not None and not guards.exists(),
        "next": request.GET.get("next") or request.POST.get("next") or "",
    }
    template = "alarms/_panel.html" if _is_htmx(request) else "alarms/detail.html"
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    alarm, handles = _alarm(request, pk)
    return _panel(request, alarm, handles)


def _message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _perform(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    alarm, handles = _alarm(request, pk)
    form: djforms.Form | None = None
    user = request.user
    try:
        if action == "acknowledge":
            services.acknowledge(user, alarm)
            done = _("已确认报警，请尽快处置。")
        elif action == "dispatch":
            form = DispatchForm(request.POST, guards=selectors.guards_of(alarm.compound))
            if not form.is_valid():
                return _panel(request, alarm, handles, bound={action: form}, status=400)
            guard = form.cleaned_data["guard"]
            services.dispatch(user, alarm, guard, note=form.cleaned_data["note"])
            done = _("已派 %(who)s 前往现场。") % {"who": guard.get_full_name() or guard.get_username()}
        elif action == "arrive":
            form = StepNoteForm(request.POST)
            form.is_valid()
            services.arrive(user, alarm, note=form.cleaned_data.get("note", ""))
            done = _("已记录到场。")
        elif action == "close":
            form = CloseForm(request.POST)
            if not form.is_valid():
                return _panel(request, alarm, handles, bound={action: form}, status=400)
            services.close(user, alarm, form.cleaned_data["cause"], form.cleaned_data["note"])
            done = _("报警已关闭，处置情况已记入值班日志。")
        elif action == "report":
            form = PoliceReportForm(request.POST, auto_id=f"report-{alarm.pk}-%s")
            if not form.is_valid():
                return _panel(request, alarm, handles, bound={action: form}, status=400)
            data = form.cleaned_data
            reported_at = data["reported_at"]
            if alarm.raised_at.replace(second=0, microsecond=0) <= reported_at < alarm.raised_at:
                reported_at = alarm.raised_at  # a time given to the minute means "in that minute"
            services.report_to_police(
                user,
                alarm,
                means=data["means"],
                reported_at=reported_at,
                report_number=data["report_number"],
                officer=data["officer"],
                note=data["note"],
            )
            done = _("已记录向公安机关报警（第16条）。")
        else:  # pragma: no cover - the URLconf names the actions
            raise Http404
    except services.AlarmConflict as exc:
        return _panel(request, alarm, handles, error=str(exc), status=409)
    except PermissionDenied as exc:
        return _panel(request, alarm, handles, error=str(exc) or _("您没有执行此操作的权限。"), status=403)
    except ValidationError as exc:
        if form is not None and hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return _panel(request, alarm, handles, bound={action: form}, status=400)
        return _panel(request, alarm, handles, error=_message(exc), status=400)
    if _is_htmx(request):
        response = _panel(request, alarm, handles, notice=done)
        response["HX-Trigger"] = "alarm-changed"
        return response
    messages.success(request, done)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("alarms:detail", args=[alarm.pk])
    return redirect(target)


ACTIONS = ("acknowledge", "dispatch", "arrive", "close", "report")


@login_required
@require_POST
def perform(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One workflow step on an alarm; the URL names the step (see urls.py)."""
    return _perform(request, pk, action)


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """A guard's open dispatches, with the button to report arrival (works on a phone)."""
    rows = list(selectors.dispatches_of(request.user))
    return render(request, "alarms/mine.html", {"alarms": rows})
