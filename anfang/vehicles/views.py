"""Vehicle pages (issue 8): the compound's lists (residents, visitors, watch list) with search,
filters, pagination, Excel import / export; passages and their detail with pictures; parking
occupancy with unmatched reads and visitor overstays.

Scope: a compound the user holds no fitting role on answers 404, as everywhere. Lists and
passages are personal data and vehicle data (Art 33(5)): each list page, passage page and export
is written to the access audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from anfang.audit.services import record_request
from anfang.compounds.importexport.reader import UploadRejected
from anfang.compounds.models import Compound
from anfang.core.views import add_service_errors, cell, paginate

from . import lists, occupancy, services
from .forms import FORMS, ImportForm, ListFilterForm, PassageFilterForm
from .models import ListEntry, Passage, ResidentVehicle, VisitorPass

PER_PAGE = 50

# Columns of each list page (field names; the header is the field's name).
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "residents": (
        "plate",
        "plate_colour",
        "owner_name",
        "owner_phone",
        "unit",
        "household",
        "parking_lot",
        "valid_from",
        "valid_to",
    ),
    "visitors": ("plate", "visitor_name", "issued_by", "host_name", "valid_from", "valid_to", "kind", "uses"),
    "watch": ("plate", "reason", "added_by_name", "expires_at", "notify_station", "hits", "last_hit_at"),
}
SEARCH_FIELDS: dict[str, tuple[str, ...]] = {
    "residents": ("plate", "owner_name", "owner_phone", "household", "note"),
    "visitors": ("plate", "visitor_name", "visitor_phone", "host_name", "note"),
    "watch": ("plate", "reason", "added_by_name", "note"),
}
TITLES = {
    "residents": gettext_lazy("业主车辆"),
    "visitors": gettext_lazy("访客通行证"),
    "watch": gettext_lazy("布控车辆"),
}


def compound_for(request: HttpRequest, pk: int, roles: frozenset[str]) -> Compound:
    return get_object_or_404(services.compounds_for(request.user, roles), pk=pk)


def kind_for(slug: str) -> services.ListKind:
    kind = services.LISTS.get(slug)
    if kind is None:
        raise Http404
    return kind


def _current(kind: services.ListKind, rows: QuerySet, current: bool) -> QuerySet:
    now = timezone.now()
    today = timezone.localdate()
    if kind.model is ResidentVehicle:
        q = Q(valid_from__lte=today) & (Q(valid_to__isnull=True) | Q(valid_to__gte=today))
    elif kind.model is VisitorPass:
        q = Q(valid_from__lte=now, valid_to__gte=now)
    else:
        q = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return rows.filter(q) if current else rows.exclude(q)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The compounds whose vehicles the user may see, with today's figures."""
    roles = services.VIEW_ROLES | services.LISTS["visitors"].view_roles
    compounds = services.compounds_for(request.user, roles).active().order_by("name")
    page = paginate(request, compounds, PER_PAGE)
    return render(request, "vehicles/index.html", {"page": page})


@login_required
def compound_home(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = compound_for(request, compound_id, services.VIEW_ROLES | services.LISTS["visitors"].view_roles)
    return redirect("vehicles:list", compound.pk, "visitors")


@login_required
def entry_list(request: HttpRequest, compound_id: int, slug: str) -> HttpResponse:
    kind = kind_for(slug)
    compound = compound_for(request, compound_id, kind.view_roles)
    form = ListFilterForm(request.GET or None)
    rows: QuerySet = kind.model.objects.filter(compound=compound)
    q = (form.value("q") or "").strip() if request.GET else ""
    if q:
        words = Q()
        for name in SEARCH_FIELDS[slug]:
            words |= Q(**{f"{name}__icontains": q})
        rows = rows.filter(words)
    status = form.value("status") if request.GET else ""
    if status:
        rows = _current(kind, rows, status == "current")
    related = [n for n in ("unit__building", "parking_lot") if n.split("__")[0] in LIST_COLUMNS[slug]]
    page = paginate(request, rows.select_related(*related), PER_PAGE)
    # Personal data of residents and visitors (Art 33(5)): who looked, at what.
    record_request(
        request,
        "view",
        f"vehicles.{slug}",
        compound_id=compound.pk,
        detail={"q": q, "status": status or "", "page": page.number},
    )
    columns = LIST_COLUMNS[slug]
    headers = [lists.header(kind.model, n) for n in columns]
    table = [(obj, [cell(obj, n) for n in columns]) for obj in page.object_list]
    context = {
        "compound": compound,
        "slug": slug,
        "title": TITLES[slug],
        "form": form,
        "page": page,
        "headers": headers,
        "table": table,
        "can_edit": services.holds(request.user, compound.pk, kind.edit_roles),
        "import_form": ImportForm(),
        "tabs": _tabs(request, compound),
    }
    return render(request, "vehicles/entry_list.html", context)


def _tabs(request: HttpRequest, compound: Compound) -> list[tuple[str, str, str]]:
    """(key, label, url) of the compound's vehicle pages this user may open."""
    tabs = []
    for slug, kind in services.LISTS.items():
        if services.holds(request.user, compound.pk, kind.view_roles):
            tabs.append((slug, str(TITLES[slug]), reverse("vehicles:list", args=[compound.pk, slug])))
    if services.holds(request.user, compound.pk, services.VIEW_ROLES):
        tabs.append(("passages", _("过车记录"), reverse("vehicles:passages", args=[compound.pk])))
        tabs.append(("occupancy", _("车位占用"), reverse("vehicles:occupancy", args=[compound.pk])))
    return tabs


def _edit(request: HttpRequest, compound: Compound, slug: str, entry: ListEntry | None) -> HttpResponse:
    kind = kind_for(slug)
    if not services.holds(request.user, compound.pk, kind.edit_roles):
        raise PermissionDenied(_("您没有维护该小区车辆名单的权限。"))
    form_class = FORMS[kind.model]
    form = form_class(request.POST or None, instance=entry, compound=compound)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_entry(request.user, form.instance)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已保存：%(plate)s") % {"plate": saved.plate})
            return redirect("vehicles:list", compound.pk, slug)
    context = {
        "compound": compound,
        "slug": slug,
        "title": TITLES[slug],
        "form": form,
        "entry": entry,
        "tabs": _tabs(request, compound),
    }
    return render(request, "vehicles/entry_form.html", context, status=400 if form.errors else 200)


@login_required
def entry_new(request: HttpRequest, compound_id: int, slug: str) -> HttpResponse:
    kind = kind_for(slug)
    return _edit(request, compound_for(request, compound_id, kind.view_roles), slug, None)


def _entry(request: HttpRequest, slug: str, pk: int) -> tuple[services.ListKind, ListEntry]:
    kind = kind_for(slug)
    scope = services.compounds_for(request.user, kind.view_roles)
    entry = get_object_or_404(kind.model.objects.filter(compound__in=scope.values("pk")), pk=pk)
    return kind, entry


@login_required
def entry_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    _kind, entry = _entry(request, slug, pk)
    return _edit(request, entry.compound, slug, entry)


@login_required
@require_POST
def entry_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    _kind, entry = _entry(request, slug, pk)
    compound_id = entry.compound_id
    services.delete_entry(request.user, entry)
    messages.success(request, _("已删除：%(plate)s") % {"plate": entry.plate})
    return redirect("vehicles:list", compound_id, slug)


@login_required
def entry_export(request: HttpRequest, compound_id: int, slug: str) -> HttpResponse:
    kind = kind_for(slug)
    compound = compound_for(request, compound_id, kind.view_roles)
    rows = kind.model.objects.filter(compound=compound).order_by("plate", "pk")
    data = lists.export_list(kind.model, rows)
    record_request(
        request, "export", f"vehicles.{slug}", compound_id=compound.pk, detail={"rows": rows.count(), "format": "xlsx"}
    )
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="vehicles-{slug}-{compound.pk}-{stamp}.xlsx"'
    return response


@login_required
@require_POST
def entry_import(request: HttpRequest, compound_id: int, slug: str) -> HttpResponse:
    kind = kind_for(slug)
    compound = compound_for(request, compound_id, kind.view_roles)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择要导入的 Excel 文件（.xlsx）。"))
        return redirect("vehicles:list", compound.pk, slug)
    upload = form.cleaned_data["file"]
    try:
        result = lists.import_list(request.user, compound, kind.model, upload, upload.name)
    except UploadRejected as exc:
        messages.error(request, str(exc))
        return redirect("vehicles:list", compound.pk, slug)
    if not result.ok:
        context = {
            "compound": compound,
            "slug": slug,
            "title": TITLES[slug],
            "errors": result.errors,
            "file_name": upload.name,
            "tabs": _tabs(request, compound),
        }
        return render(request, "vehicles/import_errors.html", context, status=400)
    messages.success(
        request,
        _("导入完成：新增 %(created)s 条，更新 %(updated)s 条。")
        % {"created": result.created, "updated": result.updated},
    )
    return redirect("vehicles:list", compound.pk, slug)


# ---------------------------------------------------------------- passages


def passage_rows(user: Any) -> QuerySet[Passage]:
    scope = services.compounds_for(user, services.VIEW_ROLES | services.GUARD_DESK_ROLES)
    return Passage.objects.filter(compound__in=scope.values("pk"))


@login_required
def passage_list(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = compound_for(request, compound_id, services.VIEW_ROLES)
    form = PassageFilterForm(request.GET or None)
    rows = Passage.objects.filter(compound=compound)
    detail: dict[str, Any] = {}
    if request.GET:
        q = (form.value("q") or "").strip().upper()
        if q:
            rows = rows.filter(plate__startswith=q)
            detail["q"] = q
        day = form.value("day")
        if day:
            start = timezone.make_aware(dt.datetime.combine(day, dt.time(0)))
            rows = rows.filter(received_at__gte=start, received_at__lt=start + dt.timedelta(days=1))
            detail["day"] = day.isoformat()
        for name in ("direction", "decision"):
            if form.value(name):
                rows = rows.filter(**{name: form.value(name)})
                detail[name] = form.value(name)
        if form.value("pending"):
            rows = rows.filter(needs_confirmation=True)
    page = paginate(
        request, rows.select_related("entrance", "parking_entrance").order_by("-received_at", "-id"), PER_PAGE
    )
    record_request(
        request, "view", "vehicles.passages", compound_id=compound.pk, detail={**detail, "page": page.number}
    )
    context = {"compound": compound, "form": form, "page": page, "tabs": _tabs(request, compound)}
    return render(request, "vehicles/passage_list.html", context)


def picture_urls(passage: Passage) -> list[dict[str, Any]]:
    """The passage's pictures, served by the event picture view (scope-checked and audited)."""
    if not passage.event_id:
        return []
    return [
        {"role": p.get("role"), "url": reverse("events:picture", args=[passage.event_id, p["index"]]), "ref": p}
        for p in passage.pictures
        if isinstance(p.get("index"), int)
    ]


@login_required
def passage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    passage = get_object_or_404(
        passage_rows(request.user).select_related("entrance", "parking_entrance", "parking_lot", "device", "compound"),
        pk=pk,
    )
    record_request(request, "view", "vehicles.passage", passage.pk, compound_id=passage.compound_id)
    context = {
        "passage": passage,
        "compound": passage.compound,
        "pictures": picture_urls(passage),
        "can_confirm": services.holds(request.user, passage.compound_id, services.GUARD_DESK_ROLES),
        "tabs": _tabs(request, passage.compound),
    }
    return render(request, "vehicles/passage_detail.html", context)


# ---------------------------------------------------------------- occupancy


@login_required
def occupancy_page(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = compound_for(request, compound_id, services.VIEW_ROLES)
    now = timezone.now()
    record_request(request, "view", "vehicles.occupancy", compound_id=compound.pk)
    context = {
        "compound": compound,
        "lots": occupancy.occupancy(compound.pk, now=now),
        "unmatched": paginate(request, occupancy.unmatched(compound.pk, now=now), PER_PAGE),
        "overstays": list(occupancy.overstays([compound.pk], now=now)[:200]),
        "stale_days": occupancy.stale_after().days,
        "now": now,
        "tabs": _tabs(request, compound),
    }
    return render(request, "vehicles/occupancy.html", context)
