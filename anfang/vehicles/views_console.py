"""The vehicles panel of the duty console (Art 11, 16): the latest passages with their pictures,
the low-confidence reads waiting for the guard to confirm or correct, and the manual barrier
open with its required reason. A fragment the console page loads and refreshes; the actions
answer with the refreshed fragment."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from anfang.audit.services import record_request
from anfang.compounds.models import Compound

from . import services
from .forms import ConfirmForm, OpenForm
from .models import Passage
from .views import picture_urls

RECENT = 8
TO_CONFIRM = 10


def _desk_compound(request: HttpRequest, pk: int) -> Compound:
    return get_object_or_404(services.compounds_for(request.user, services.GUARD_DESK_ROLES), pk=pk)


def _panel(request: HttpRequest, compound: Compound, *, open_form: OpenForm | None = None, error: str = ""):
    recent = list(
        Passage.objects.filter(compound=compound)
        .select_related("entrance", "parking_entrance")
        .order_by("-received_at", "-id")[:RECENT]
    )
    pending = list(
        Passage.objects.filter(compound=compound, needs_confirmation=True)
        .select_related("entrance", "parking_entrance")
        .order_by("-received_at", "-id")[:TO_CONFIRM]
    )
    rows = [(p, picture_urls(p)) for p in recent]
    shown = sorted({p.pk for p in recent} | {p.pk for p in pending})
    key = f"vehicles_console_seen_{compound.pk}"
    if shown and request.session.get(key) != shown:
        # The panel shows plates and pictures: an access to vehicle data (Art 33(5)). Audited when
        # what it shows changes, not on every refresh of an unchanged panel.
        record_request(
            request,
            "view",
            "vehicles.console",
            compound_id=compound.pk,
            detail={"passages": [p.pk for p in recent], "pending": [p.pk for p in pending]},
        )
        request.session[key] = shown
    context = {
        "compound": compound,
        "recent": rows,
        "pending": [(p, picture_urls(p)) for p in pending],
        "open_form": open_form or OpenForm(compound=compound),
        "error": error,
    }
    # 200 even with errors: htmx swaps only successful answers, and the form shows the message.
    return render(request, "vehicles/_console_panel.html", context)


@login_required
@require_GET
def panel(request: HttpRequest, compound_id: int) -> HttpResponse:
    return _panel(request, _desk_compound(request, compound_id))


def _back(request: HttpRequest, compound: Compound) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return _panel(request, compound)
    return redirect("console:compound", compound.pk)


@login_required
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    scope = services.compounds_for(request.user, services.GUARD_DESK_ROLES)
    passage = get_object_or_404(Passage.objects.filter(compound__in=scope.values("pk")), pk=pk)
    compound = Compound.objects.get(pk=passage.compound_id)
    form = ConfirmForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"plate": _("请填写车牌号。")})
        services.confirm_passage(request.user, passage, form.cleaned_data["plate"])
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if request.headers.get("HX-Request"):
            return _panel(request, compound, error=message)
        messages.error(request, message)
        return redirect("console:compound", compound.pk)
    return _back(request, compound)


@login_required
@require_POST
def open_barrier(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = _desk_compound(request, compound_id)
    form = OpenForm(request.POST, compound=compound)
    if form.is_valid():
        passage = None
        if form.cleaned_data.get("passage"):
            passage = Passage.objects.filter(compound=compound, pk=form.cleaned_data["passage"]).first()
        try:
            services.open_barrier(
                request.user,
                compound,
                reason=form.cleaned_data["reason"],
                passage=passage,
                plate=form.cleaned_data.get("plate") or "",
                **form.place_kwargs(),
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            if not request.headers.get("HX-Request"):
                messages.success(request, _("已人工开闸并记入值班日志。"))
            return _back(request, compound)
    if request.headers.get("HX-Request"):
        return _panel(request, compound, open_form=form)
    messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("console:compound", compound.pk)
