"""Registry pages: the compound list, the compound detail with its tabs, the compound form and
one generic form for every compound part. Scope comes from visible_to / editable_by (out of
scope → 404, visible but not editable → 403); every write goes through the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.core.grants import can_edit_registry
from anfang.core.history import field_label
from anfang.core.models import RoleGrant
from anfang.core.views import cell, history_entries, paginate, save_through
from anfang.devices.forms import with_place
from anfang.devices.models import Device

from . import services
from .forms import PARTS, PARTS_BY_MODEL, CompoundFilterForm, CompoundForm, PartSpec
from .models import PART_MODELS, Compound, SecurityTeam
from .querysets import CompoundQuerySet
from .selectors import with_counts

TABS = ("structure", "devices", "people", "history")


def _compounds(user: Any) -> CompoundQuerySet:
    return Compound.objects.visible_to(user).select_related("police_station__parent", "community", "property_company")


def visible_compound(request: HttpRequest, pk: int) -> Compound:
    return with_counts([get_object_or_404(_compounds(request.user), pk=pk)])[0]


def editable_compound(request: HttpRequest, pk: int) -> Compound:
    """The compound if the user may edit it: 404 when out of sight, 403 when only visible."""
    compound = visible_compound(request, pk)
    if not Compound.objects.editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied(_("您没有修改该小区的权限。"))
    return compound


def tab_url(compound: Compound, tab: str, anchor: str = "") -> str:
    return f"{compound.get_absolute_url()}?tab={tab}" + (f"#{anchor}" if anchor else "")


@login_required
def compound_list(request: HttpRequest) -> HttpResponse:
    visible = Compound.objects.visible_to(request.user)
    form = CompoundFilterForm(request.GET, visible=visible)
    page = paginate(request, form.to_filter().apply(_compounds(request.user)))
    page.object_list = with_counts(page.object_list)
    return render(request, "compounds/list.html", {"form": form, "page": page})


# ---- detail tabs ---------------------------------------------------------------------------


@dataclass
class Section:
    spec: PartSpec
    headers: list[str]
    rows: list[tuple[Any, list[str]]]


def _structure(request: HttpRequest, compound: Compound) -> dict[str, Any]:
    """Every part model, one query each, whatever the number of rows."""
    sections = []
    for model in PART_MODELS:
        spec = PARTS_BY_MODEL[model]
        headers = [field_label(model, name) for name in spec.columns]
        rows = [(obj, [cell(obj, name) for name in spec.columns]) for obj in spec.queryset(compound)]
        sections.append(Section(spec, headers, rows))
    return {"sections": sections}


def _devices(request: HttpRequest, compound: Compound) -> dict[str, Any]:
    return {"page": paginate(request, with_place(Device.objects.filter(compound=compound)))}


def _covering_grants(compound: Compound) -> QuerySet[RoleGrant]:
    """Grants on the compound itself and on its station, community, company and their ancestors."""
    org_ids = {
        int(part)
        for org in (compound.police_station, compound.community, compound.property_company)
        if org is not None
        for part in org.path.strip("/").split("/")
        if part
    }
    return (
        RoleGrant.objects.filter(Q(compound=compound) | Q(organisation__in=org_ids))
        .select_related("user", "organisation", "compound")
        .order_by("role", "user__username")
    )


def _people(request: HttpRequest, compound: Compound) -> dict[str, Any]:
    return {
        "grants": _covering_grants(compound),
        "teams": SecurityTeam.objects.filter(compound=compound).select_related("provider"),
        "team_spec": PARTS_BY_MODEL[SecurityTeam],
    }


def _history(request: HttpRequest, compound: Compound) -> dict[str, Any]:
    page = paginate(request, compound.changes.select_related("actor", "content_type"))
    return {"page": page, "entries": history_entries(page.object_list)}


TAB_CONTEXT = {"structure": _structure, "devices": _devices, "people": _people, "history": _history}


@login_required
def compound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    compound = visible_compound(request, pk)
    tab = request.GET.get("tab", "")
    tab = tab if tab in TABS else "structure"
    context = {
        "compound": compound,
        "tab": tab,
        "can_edit": Compound.objects.editable_by(request.user).filter(pk=pk).exists(),
        **TAB_CONTEXT[tab](request, compound),
    }
    return render(request, "compounds/detail.html", context)


# ---- compound writes -----------------------------------------------------------------------


@login_required
def compound_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    compound = editable_compound(request, pk) if pk else None
    if compound is None and not can_edit_registry(request.user):
        raise PermissionDenied(_("您没有登记小区的权限。"))
    form = CompoundForm(request.POST if request.method == "POST" else None, instance=compound, user=request.user)
    if request.method == "POST" and save_through(form, lambda obj: services.save(request.user, obj)):
        messages.success(request, _("小区“%(name)s”已保存。") % {"name": form.instance})
        return redirect(form.instance)
    title = _("编辑小区") if compound else _("新增小区")
    cancel = compound.get_absolute_url() if compound else reverse("compounds:list")
    return render(request, "form_page.html", {"form": form, "title": title, "compound": compound, "cancel": cancel})


@login_required
@require_POST
def compound_archive(request: HttpRequest, pk: int) -> HttpResponse:
    compound = editable_compound(request, pk)
    archived = request.POST.get("archived", "1") == "1"
    services.archive_compound(request.user, compound, archived=archived)
    messages.success(request, _("小区已归档。") if archived else _("小区已恢复为在册。"))
    return redirect(compound)


@login_required
@require_POST
def compound_delete(request: HttpRequest, pk: int) -> HttpResponse:
    compound = editable_compound(request, pk)
    try:
        services.delete_compound(request.user, compound)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(compound)
    messages.success(request, _("小区“%(name)s”已删除。") % {"name": compound.name})
    return redirect("compounds:list")


# ---- compound parts (one generic view for every PART_MODELS entry) -------------------------


def _part_spec(slug: str) -> PartSpec:
    if slug not in PARTS:
        raise Http404
    return PARTS[slug]


@login_required
def part_form(request: HttpRequest, pk: int, slug: str, part_pk: int | None = None) -> HttpResponse:
    compound = editable_compound(request, pk)
    spec = _part_spec(slug)
    part = get_object_or_404(spec.queryset(compound), pk=part_pk) if part_pk else None
    data = request.POST if request.method == "POST" else None
    form = spec.form_class(data, instance=part, compound=compound)
    if request.method == "POST" and save_through(form, lambda obj: services.save(request.user, obj)):
        messages.success(request, _("%(kind)s“%(name)s”已保存。") % {"kind": spec.title, "name": form.instance})
        return redirect(tab_url(compound, "structure", spec.slug))
    title = (_("编辑%(kind)s") if part else _("新增%(kind)s")) % {"kind": spec.title}
    context = {"form": form, "title": title, "compound": compound, "cancel": tab_url(compound, "structure", spec.slug)}
    return render(request, "form_page.html", context)


@login_required
@require_POST
def part_delete(request: HttpRequest, pk: int, slug: str, part_pk: int) -> HttpResponse:
    compound = editable_compound(request, pk)
    spec = _part_spec(slug)
    part = get_object_or_404(spec.queryset(compound), pk=part_pk)
    try:
        services.delete(request.user, part)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(kind)s“%(name)s”已删除。") % {"kind": spec.title, "name": part})
    return redirect(tab_url(compound, "structure", spec.slug))
