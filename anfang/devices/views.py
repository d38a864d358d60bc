"""Device pages: list with filters, detail with place, capabilities, certificate (Art 24) and
history, and the device form. Scope and writes as in the registry pages."""

from __future__ import annotations

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
from anfang.core.views import history_entries, paginate, save_through

from . import services
from .forms import DeviceFilterForm, DeviceForm, with_place
from .models import Device


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


@login_required
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = _visible_device(request, pk)
    records = ChangeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(Device), object_id=str(device.pk)
    ).select_related("actor", "content_type")
    page = paginate(request, records)
    context = {
        "device": device,
        "page": page,
        "entries": history_entries(page.object_list),
        "can_edit": Device.objects.editable_by(request.user).filter(pk=pk).exists(),
    }
    return render(request, "devices/detail.html", context)


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
