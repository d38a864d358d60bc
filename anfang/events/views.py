"""Event pages: the list (scoped, filtered, paged by key), one event with its payload, flags and
pictures, and the pictures themselves — served only through a scope check, never from a public
URL (Art. 33(5): monitoring records are not to leak)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from anfang.audit.choices import AuditAction
from anfang.audit.decorators import audited, note
from anfang.compounds.models import Compound
from anfang.devices.models import Device

from . import choices as c
from .filters import keyset_page, visible_events
from .forms import EventFilterForm
from .media import PICTURE_TYPES, picture_response
from .models import Event


def attach_names(rows: Iterable[Any]) -> None:
    """Give each row `device_obj` and `compound_obj` (None when deleted since): two queries per
    page. A join would hide events of a deleted device (the event table keeps no foreign key)."""
    rows = list(rows)
    devices = Device.objects.only("pk", "name", "compound_id").in_bulk({r.device_id for r in rows if r.device_id})
    compounds = Compound.objects.only("pk", "name").in_bulk({r.compound_id for r in rows if r.compound_id})
    for row in rows:
        row.device_obj = devices.get(row.device_id)
        row.compound_obj = compounds.get(row.compound_id)


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET, compounds=Compound.objects.visible_to(request.user))
    qs = form.to_filter().apply(visible_events(request.user)).defer("payload")
    page = keyset_page(request, qs)
    attach_names(page.object_list)
    context = {"form": form, "page": page, "period": form.effective_period}
    return render(request, "events/event_list.html", context)


@dataclass
class FlagNote:
    flag: str
    label: str
    explanation: str


def explain_flags(event: Event) -> list[FlagNote]:
    """Each flag of the event with what it means for this event (how far off its times are)."""
    offset = int((event.occurred_at - event.received_at).total_seconds())
    texts = {
        c.Flag.ZONE_ASSUMED: _("设备上报的时间没有时区，已按北京时间（UTC+8）解释。"),
        c.Flag.CLOCK_SKEW: _(
            "设备时间比平台接收时间快 %(seconds)d 秒，超过阈值 %(limit)d 秒：设备时钟可能不准，以接收时间为准。"
        )
        % {"seconds": offset, "limit": settings.ANFANG_CLOCK_SKEW_SECONDS},
        c.Flag.LATE: _("发生时间比接收时间早 %(seconds)d 秒，超过 %(limit)d 秒：设备可能断网后补传，或设备时钟偏慢。")
        % {"seconds": -offset, "limit": settings.ANFANG_LATE_EVENT_SECONDS},
        c.Flag.REPLAYED: _("该事件由死信重放得到（修正映射或登记设备之后重新处理）。"),
    }
    labels = dict(c.Flag.choices)
    return [FlagNote(flag, str(labels.get(flag, flag)), texts.get(flag, "")) for flag in event.flags]


def _visible_event(request: HttpRequest, pk: int) -> Event:
    return get_object_or_404(visible_events(request.user), pk=pk)


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = _visible_event(request, pk)
    attach_names([event])
    pictures = [
        {"ref": ref, "url": reverse("events:picture", args=[event.pk, i])}
        for i, ref in enumerate(event.media)
        if isinstance(ref, dict) and ref.get("type") in PICTURE_TYPES
    ]
    context = {
        "event": event,
        "flags": explain_flags(event),
        "offset_seconds": int((event.occurred_at - event.received_at).total_seconds()),
        "payload": json.dumps(event.payload, ensure_ascii=False, indent=2, sort_keys=True),
        "pictures": pictures,
    }
    return render(request, "events/event_detail.html", context)


@login_required
@audited(AuditAction.VIEW, "events.picture")
def event_picture(request: HttpRequest, pk: int, index: int) -> HttpResponseBase:
    """One picture of an event, through the scope check and the access audit (Art 33(5))."""
    event = _visible_event(request, pk)
    ref: Any = event.media[index] if 0 <= index < len(event.media) else None
    response = picture_response(ref, f"event-{event.pk}-{index}")
    if response.status_code == 200:
        note(request, compound_id=event.compound_id, detail={"index": index, "sha256": ref.get("sha256", "")})
    return response
