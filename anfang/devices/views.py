"""Device pages: list with filters, detail with place, capabilities, certificate (Art 24),
event ingestion (credentials, health, latest events) and history, and the device form. Scope and
writes as in the registry pages: only registry editors change credentials."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.compounds.models import Compound
from anfang.compounds.views import editable_compound, tab_url
from anfang.core.models import ChangeRecord
from anfang.core.views import add_service_errors, history_entries, paginate, save_through
from anfang.events.choices import DeadLetterStatus
from anfang.events.models import DeadLetter, Event

from . import services
from .forms import DeviceFilterForm, DeviceForm, PushPathForm, with_place
from .models import Device, DeviceCredential, DeviceHealth

RECENT_EVENTS = 10
INGEST_PREFIX = "/ingest/"  # where anfang/urls.py mounts the push endpoints (events/urls_ingest.py)


@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    form = DeviceFilterForm(request.GET, compounds=Compound.objects.visible_to(request.user))
    page = paginate(request, with_place(form.to_filter().apply(Device.objects.visible_to(request.user))))
    return render(request, "devices/list.html", {"form": form, "page": page})


def _visible_device(request: HttpRequest, pk: int) -> Device:
    return get_object_or_404(with_place(Device.objects.visible_to(request.user)), pk=pk)


def _editable_device(request: HttpRequest, pk: int) -> Device:
    device = _visible_device(request, pk)
    if not Device.objects.editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied(_("您没有修改该设备的权限。"))
    return device


def _ingest_context(device: Device, can_edit: bool, path_form: PushPathForm | None) -> dict[str, Any]:
    """The 接入 section: credentials, health as the event stream tells it, the latest events."""
    credential = DeviceCredential.objects.filter(device=device).first()
    if path_form is None:
        sources = (credential.allowed_sources if credential else "") or device.ip_address or ""
        path_form = PushPathForm(initial={"allowed_sources": sources})
    recent = Event.objects.filter(device_id=device.pk).defer("payload").order_by("-received_at", "-id")
    return {
        "credential": credential,
        "health": DeviceHealth.objects.filter(device=device).first(),
        "skew_limit": settings.ANFANG_CLOCK_SKEW_SECONDS,
        "recent_events": list(recent[:RECENT_EVENTS]),
        "pending_letters": (
            DeadLetter.objects.filter(device=device, status=DeadLetterStatus.NEW).count() if can_edit else None
        ),
        "path_form": path_form,
    }


def _render_detail(request: HttpRequest, device: Device, path_form: PushPathForm | None = None) -> HttpResponse:
    records = ChangeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(Device), object_id=str(device.pk)
    ).select_related("actor", "content_type")
    page = paginate(request, records)
    can_edit = Device.objects.editable_by(request.user).filter(pk=device.pk).exists()
    context = {
        "device": device,
        "page": page,
        "entries": history_entries(page.object_list),
        "can_edit": can_edit,
        **_ingest_context(device, can_edit, path_form),
    }
    return render(request, "devices/detail.html", context, status=400 if path_form and path_form.errors else 200)


@login_required
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _visible_device(request, pk))


# ---- device credentials for event ingestion (issue 5 §6) ----------------------------------------


def _issued(request: HttpRequest, device: Device, **context: Any) -> HttpResponse:
    """The one page that shows a new token or push path; nothing keeps the plain value after it."""
    response = render(request, "devices/credential_issued.html", {"device": device, **context})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def device_ingest_token(request: HttpRequest, pk: int) -> HttpResponse:
    device = _editable_device(request, pk)
    token = services.issue_device_token(request.user, device)
    return _issued(request, device, token=token, push_url=request.build_absolute_uri(f"{INGEST_PREFIX}isapi/"))


@login_required
@require_POST
def device_ingest_path(request: HttpRequest, pk: int) -> HttpResponse:
    device = _editable_device(request, pk)
    form = PushPathForm(request.POST)
    if form.is_valid():
        try:
            secret = services.issue_push_path(request.user, device, form.cleaned_data["allowed_sources"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            url = request.build_absolute_uri(f"{INGEST_PREFIX}isapi/{secret}/")
            cred = DeviceCredential.objects.get(device=device)
            return _issued(request, device, push_url=url, allowed_sources=cred.allowed_sources)
    return _render_detail(request, device, path_form=form)


@login_required
@require_POST
def device_ingest_enabled(request: HttpRequest, pk: int) -> HttpResponse:
    device = _editable_device(request, pk)
    enabled = request.POST.get("enabled") == "1"
    services.set_ingest_enabled(request.user, device, enabled)
    if enabled:
        messages.success(request, _("已允许设备“%(name)s”推送事件。") % {"name": device.name})
    else:
        messages.success(
            request, _("已停止接收设备“%(name)s”的推送，其令牌和密钥路径暂不可用。") % {"name": device.name}
        )
    return redirect(device)


def _compound_for_new_device(request: HttpRequest) -> Compound | None:
    raw = request.GET.get("compound", "")
    return editable_compound(request, int(raw)) if raw.isdigit() else None


@login_required
def device_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    device = _editable_device(request, pk) if pk else None
    compound = device.compound if device else _compound_for_new_device(request)
    if compound is None:  # /devices/new/ without a compound: pick one first
        choices = Compound.objects.editable_by(request.user).active()
        return render(request, "devices/pick_compound.html", {"compounds": choices})
    data = request.POST if request.method == "POST" else None
    form = DeviceForm(data, instance=device, compound=compound)
    if request.method == "POST" and save_through(form, lambda obj: services.save_device(request.user, obj)):
        messages.success(request, _("设备“%(name)s”已保存。") % {"name": form.instance})
        return redirect(form.instance)
    context = {
        "form": form,
        "title": _("编辑设备") if device else _("新增设备"),
        "compound": compound,
        "cancel": device.get_absolute_url() if device else tab_url(compound, "devices"),
    }
    return render(request, "form_page.html", context)


@login_required
@require_POST
def device_delete(request: HttpRequest, pk: int) -> HttpResponse:
    device = _editable_device(request, pk)
    try:
        services.delete_device(request.user, device)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(device)
    messages.success(request, _("设备“%(name)s”已删除。") % {"name": device.name})
    return redirect(tab_url(device.compound, "devices") if device.compound_id else reverse("devices:list"))
