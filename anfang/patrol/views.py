"""Patrol management pages (Art 10: the route, method and process of patrols are managed and
controlled electronically; Art 6: community patrol teams covering several compounds): checkpoints
with printable QR labels, routes with their ordered checkpoints, plans, teams.

Who: property managers, community managers and platform admins manage the compounds in their
scope (the registry editors, `REGISTRY_EDIT_ROLES`); anyone else gets 403 on these pages, and an
object of a compound outside the manager's scope is 404 (its existence is not told). Runs,
reports and the calendar are in views_runs.py, the guard's phone page in views_mobile.py."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from anfang.alarms.police import POLICE_ROLES
from anfang.compounds import services as registry
from anfang.compounds.models import Compound
from anfang.compounds.querysets import orgs_in_scope
from anfang.core.choices import REGISTRY_EDIT_ROLES, Role
from anfang.core.grants import has_role
from anfang.core.models import Organisation
from anfang.core.views import add_service_errors, paginate

from . import labels, services
from .filters import CheckpointFilter, CompoundOnlyFilter, local_today
from .forms import BaseStopFormSet, CheckpointForm, PlanForm, RouteForm, StopFormSet, TeamForm
from .models import Checkpoint, PatrolTeam, Plan, Route, RouteCheckpoint

MANAGE_ROLES = REGISTRY_EDIT_ROLES
# Who reads runs, reports and the calendar: managers, the duty room, and the police of the
# jurisdiction (Art 34 supervision), read-only.
VIEW_ROLES = MANAGE_ROLES | {Role.DUTY_OPERATOR} | POLICE_ROLES
GUARD_ROLES = frozenset({Role.GUARD})


def require(request: HttpRequest, roles: frozenset[str]) -> None:
    if not has_role(request.user, roles):
        raise PermissionDenied(_("您没有管理电子巡查的权限。"))


def managed_compounds(request: HttpRequest) -> QuerySet[Compound]:
    require(request, MANAGE_ROLES)
    return Compound.objects.in_scope_of_roles(request.user, MANAGE_ROLES).active()


def managed_orgs(request: HttpRequest) -> QuerySet[Organisation]:
    ids = orgs_in_scope(request.user, MANAGE_ROLES)
    return Organisation.objects.all() if ids is None else Organisation.objects.filter(pk__in=ids)


def managed_teams(request: HttpRequest) -> QuerySet[PatrolTeam]:
    """Teams of the organisations the manager manages (editable), and teams that cover one of the
    manager's compounds (assignable to a plan)."""
    compounds = managed_compounds(request)
    return (
        PatrolTeam.objects.filter(Q(organisation__in=managed_orgs(request)) | Q(compounds__in=compounds.values("pk")))
        .distinct()
        .select_related("organisation")
        .order_by("name", "pk")
    )


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The nav link: guards go to their phone page, everybody else to the runs."""
    if has_role(request.user, VIEW_ROLES):
        return redirect("patrol:runs")
    return redirect("patrol:mobile")


def form_page(
    request: HttpRequest, form: Any, *, title: str, cancel: str, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"form": form, "title": title, "cancel": cancel, **extra}
    return render(request, "patrol/form.html", context, status=400 if form.errors else status)


def saved_through_registry(request: HttpRequest, form: Any) -> bool:
    """Validate and save through the registry service (scope check, full_clean, change history);
    a rejection lands next to the field it names."""
    if not form.is_valid():
        return False
    try:
        registry.save(request.user, form.instance)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return False
    return True


# --- checkpoints ---------------------------------------------------------------------------------


@login_required
def checkpoint_list(request: HttpRequest) -> HttpResponse:
    compounds = managed_compounds(request)
    filters = CheckpointFilter(request.GET or None, compounds=compounds)
    qs = filters.apply(Checkpoint.objects.filter(compound__in=compounds.values("pk"))).select_related("compound")
    qs = qs.annotate(route_count=Count("route_stops")).order_by("compound__name", "name", "pk")
    page = paginate(request, qs)
    context = {
        "form": filters,
        "page": page,
        "has_any": Checkpoint.objects.filter(compound__in=compounds.values("pk")).exists(),
    }
    return render(request, "patrol/checkpoint_list.html", context)


@login_required
def checkpoint_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    compounds = managed_compounds(request)
    instance = get_object_or_404(Checkpoint, pk=pk, compound__in=compounds.values("pk")) if pk else None
    initial = {"compound": request.GET.get("compound")} if instance is None else None
    form = CheckpointForm(request.POST or None, instance=instance, initial=initial, compounds=compounds)
    if request.method == "POST" and saved_through_registry(request, form):
        messages.success(request, _("已保存巡查点“%(name)s”。") % {"name": form.instance.name})
        return redirect(f"{reverse('patrol:checkpoints')}?compound={form.instance.compound_id}")
    title = _("编辑巡查点") if instance else _("新增巡查点")
    return form_page(request, form, title=title, cancel=reverse("patrol:checkpoints"), section="checkpoints")


@login_required
@require_GET
def checkpoint_labels(request: HttpRequest) -> HttpResponse:
    """A printable A4 sheet of QR labels for the ticked checkpoints (or all of one compound)."""
    compounds = managed_compounds(request)
    qs = Checkpoint.objects.filter(compound__in=compounds.values("pk"), active=True).select_related("compound")
    ids = [int(v) for v in request.GET.getlist("ids") if v.isdigit()]
    compound = request.GET.get("compound", "")
    if ids:
        qs = qs.filter(pk__in=ids)
    elif compound.isdigit():
        qs = qs.filter(compound_id=int(compound))
    else:
        messages.error(request, _("请先勾选要打印标签的巡查点。"))
        return redirect("patrol:checkpoints")
    checkpoints = list(qs.order_by("compound__name", "name", "pk"))
    if not checkpoints:
        messages.error(request, _("所选巡查点不存在或已停用，没有可打印的标签。"))
        return redirect("patrol:checkpoints")
    sheet = [labels.Label(cp.code, cp.name, cp.location, cp.compound.name) for cp in checkpoints]
    names = sorted({cp.compound.name for cp in checkpoints})
    response = HttpResponse(labels.render_pdf(sheet), content_type="application/pdf")
    response["Content-Disposition"] = labels.content_disposition(names[0] if len(names) == 1 else _("多个小区"))
    return response


# --- routes --------------------------------------------------------------------------------------


@login_required
def route_list(request: HttpRequest) -> HttpResponse:
    compounds = managed_compounds(request)
    filters = CompoundOnlyFilter(request.GET or None, compounds=compounds)
    qs = Route.objects.filter(compound__in=compounds.values("pk")).select_related("compound")
    if q := filters.value("q"):
        qs = qs.filter(name__icontains=q)
    if compound := filters.value("compound"):
        qs = qs.filter(compound=compound)
    qs = qs.annotate(stop_count=Count("stops", distinct=True), plan_count=Count("plans", distinct=True))
    page = paginate(request, qs.order_by("compound__name", "name", "pk"))
    return render(request, "patrol/route_list.html", {"form": filters, "page": page})


@login_required
def route_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    compounds = managed_compounds(request)
    instance = get_object_or_404(Route, pk=pk, compound__in=compounds.values("pk")) if pk else None
    initial = {"compound": request.GET.get("compound")} if instance is None else None
    form = RouteForm(request.POST or None, instance=instance, initial=initial, compounds=compounds)
    if request.method == "POST" and saved_through_registry(request, form):
        messages.success(request, _("已保存路线“%(name)s”。") % {"name": form.instance.name})
        return redirect("patrol:route", pk=form.instance.pk)
    title = _("编辑路线") if instance else _("新增路线")
    return form_page(request, form, title=title, cancel=reverse("patrol:routes"), section="routes")


@login_required
def route_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The ordered checkpoint editor: position, checkpoint, minutes from the previous stop."""
    compounds = managed_compounds(request)
    route = get_object_or_404(Route.objects.select_related("compound"), pk=pk, compound__in=compounds.values("pk"))
    checkpoints = Checkpoint.objects.filter(compound=route.compound).order_by("name", "pk")
    stops = list(RouteCheckpoint.objects.filter(route=route).select_related("checkpoint").order_by("position"))
    initial = [
        {"position": s.position, "checkpoint": s.checkpoint, "expected_minutes": s.expected_minutes} for s in stops
    ]
    # Bound: validate exactly what was posted (no initial, so an unchanged row is still checked).
    formset = cast(
        BaseStopFormSet,
        StopFormSet(request.POST, checkpoints=checkpoints, prefix="stops")  # type: ignore[call-arg]
        if request.method == "POST"
        else StopFormSet(initial=initial, checkpoints=checkpoints, prefix="stops"),  # type: ignore[call-arg]
    )
    if request.method == "POST" and formset.is_valid():
        try:
            services.set_route_stops(route, formset.stops())
        except ValidationError as exc:
            formset._non_form_errors = formset.error_class(exc.messages)  # type: ignore[attr-defined]
        else:
            messages.success(request, _("已保存路线的巡查点顺序。"))
            return redirect("patrol:route", pk=route.pk)
    total = sum(s.expected_minutes for s in stops)
    context = {
        "route": route,
        "formset": formset,
        "stops": stops,
        "total_minutes": total,
        "plans": route.plans.select_related("guard", "team", "duty_room").order_by("name"),
        "has_checkpoints": checkpoints.exists(),
    }
    return render(request, "patrol/route_detail.html", context, status=400 if request.method == "POST" else 200)


# --- plans ---------------------------------------------------------------------------------------


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    compounds = managed_compounds(request)
    filters = CompoundOnlyFilter(request.GET or None, compounds=compounds)
    qs = Plan.objects.filter(route__compound__in=compounds.values("pk")).select_related(
        "route__compound", "guard", "team", "duty_room"
    )
    if q := filters.value("q"):
        qs = qs.filter(Q(name__icontains=q) | Q(route__name__icontains=q))
    if compound := filters.value("compound"):
        qs = qs.filter(route__compound=compound)
    page = paginate(request, qs.order_by("route__compound__name", "route__name", "name", "pk"))
    return render(request, "patrol/plan_list.html", {"form": filters, "page": page})


@login_required
def plan_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    compounds = managed_compounds(request)
    instance = get_object_or_404(Plan, pk=pk, route__compound__in=compounds.values("pk")) if pk else None
    initial: dict[str, Any] = {"valid_from": local_today(), "window_minutes": 60}
    if instance is None and request.GET.get("route"):
        initial["route"] = request.GET["route"]
    form = PlanForm(
        request.POST or None,
        instance=instance,
        initial=initial if instance is None else None,
        compounds=compounds,
        teams=managed_teams(request).filter(active=True),
    )
    if request.method == "POST" and saved_through_registry(request, form):
        plan = form.instance
        # The plan's runs of today and tomorrow exist at once: a guard can walk it on the phone now.
        today = local_today()
        created = services.generate_runs(today, today + dt.timedelta(days=1), plans=[plan])
        messages.success(
            request, _("已保存计划“%(name)s”，生成今明两天的巡查任务 %(n)d 个。") % {"name": plan.name, "n": created}
        )
        return redirect("patrol:plans")
    title = _("编辑巡查计划") if instance else _("新增巡查计划")
    return form_page(request, form, title=title, cancel=reverse("patrol:plans"), section="plans")


# --- teams ---------------------------------------------------------------------------------------


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = managed_teams(request).annotate(
        member_count=Count("members", distinct=True), compound_count=Count("compounds", distinct=True)
    )
    editable = set(PatrolTeam.objects.filter(organisation__in=managed_orgs(request)).values_list("pk", flat=True))
    page = paginate(request, teams)
    compounds = {
        t.pk: [c.name for c in t.compounds.all()]
        for t in PatrolTeam.objects.filter(pk__in=[t.pk for t in page.object_list]).prefetch_related("compounds")
    }
    rows = [(t, compounds.get(t.pk, []), t.pk in editable) for t in page.object_list]
    return render(request, "patrol/team_list.html", {"page": page, "rows": rows})


@login_required
def team_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    compounds = managed_compounds(request)
    orgs = managed_orgs(request)
    instance = get_object_or_404(PatrolTeam, pk=pk, organisation__in=orgs) if pk else None
    form = TeamForm(request.POST or None, instance=instance, compounds=compounds, organisations=orgs)
    # Compounds outside this manager's scope stay on the team: the form cannot show them.
    kept = list(instance.compounds.exclude(pk__in=compounds.values("pk"))) if instance else []
    if request.method == "POST" and form.is_valid():
        try:
            form.instance.full_clean()
            with transaction.atomic():
                team = form.save()
                team.compounds.add(*kept)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已保存巡防队伍“%(name)s”。") % {"name": team.name})
            return redirect("patrol:teams")
    title = _("编辑巡防队伍") if instance else _("新增巡防队伍")
    return form_page(request, form, title=title, cancel=reverse("patrol:teams"), section="teams")
