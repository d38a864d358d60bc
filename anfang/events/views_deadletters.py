"""Dead-letter pages (issue 5 §8): the list with filters, one letter with its headers and body,
and what can be done with it — replay after a fix, discard, download the raw body, replay the
whole filtered list. Those who may edit a compound's registry handle its letters; letters no
device could be tied to are for platform admins only. Out of scope → 404."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.compounds.models import Compound
from anfang.core.grants import can_edit_registry
from anfang.devices.models import Device

from . import choices as c
from . import services
from .filters import handleable_dead_letters, keyset_page
from .forms import DeadLetterFilterForm, ReplayDeviceForm
from .ingest import Rejected
from .models import DeadLetter

TEXT_SHOWN = 64 * 1024  # characters of a text body shown on the page (the download has all)
HEX_SHOWN = 4 * 1024  # bytes of a binary body shown as a hex dump
BULK_LIMIT = 200  # letters replayed per bulk request, so one click cannot run for minutes


def _require_handler(request: HttpRequest) -> None:
    if not can_edit_registry(request.user):
        raise PermissionDenied(_("只有可编辑小区登记的人员和系统管理员可以查看和处理死信。"))


def _letters(request: HttpRequest) -> Any:
    _require_handler(request)
    return handleable_dead_letters(request.user)


def _letter(request: HttpRequest, pk: int) -> DeadLetter:
    return get_object_or_404(_letters(request).select_related("device", "compound"), pk=pk)


def _filter_form(request: HttpRequest, data: Any) -> DeadLetterFilterForm:
    return DeadLetterFilterForm(data, compounds=Compound.objects.editable_by(request.user))


def _filter_values(form: DeadLetterFilterForm, data: Any) -> list[tuple[str, str]]:
    """The filter as given, to carry from the list to the bulk replay and back."""
    return [(name, str(data.get(name))) for name in form.fields if data.get(name)]


def needs_device(letter: DeadLetter) -> bool:
    """A letter no device was tied to can only be replayed once someone names the device (the
    JSON batch API names a device per event, so its letters need none)."""
    return letter.device_id is None and letter.source != c.Source.API


@login_required
def dead_letter_list(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request, request.GET)
    qs = form.to_filter().apply(_letters(request))
    page = keyset_page(request, qs.defer("body").select_related("device", "compound"))
    pending = qs.filter(status=c.DeadLetterStatus.NEW).order_by()[: BULK_LIMIT + 1].count()
    filters = _filter_values(form, request.GET)
    context = {
        "form": form,
        "page": page,
        "pending": min(pending, BULK_LIMIT),
        "pending_capped": pending > BULK_LIMIT,
        "filters": filters,
    }
    return render(request, "events/deadletter_list.html", context)


@dataclass
class BodyPreview:
    size: int  # bytes received
    kept: int  # bytes kept (less when truncated)
    truncated: bool
    text: str | None = None
    encoding: str = ""
    hexdump: str | None = None
    shown: int = 0  # characters (text) or bytes (hex) on the page
    cut: bool = False  # the page shows less than was kept


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _sep, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"').strip()
    return None


def hexdump(data: bytes) -> str:
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines)


def preview(letter: DeadLetter) -> BodyPreview:
    """The body as text when it decodes (declared charset, else UTF-8), else a hex dump."""
    body = bytes(letter.body)
    result = BodyPreview(size=letter.body_size, kept=len(body), truncated=letter.truncated)
    for encoding in dict.fromkeys(filter(None, [_charset(letter.content_type), "utf-8"])):
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if "\x00" in text:  # decodes, but is binary
            break
        result.text, result.encoding = text[:TEXT_SHOWN], encoding
        result.shown, result.cut = len(result.text), len(text) > TEXT_SHOWN
        return result
    result.hexdump = hexdump(body[:HEX_SHOWN])
    result.shown, result.cut = min(len(body), HEX_SHOWN), len(body) > HEX_SHOWN
    return result


def _replay_device_context(request: HttpRequest, letter: DeadLetter, form: ReplayDeviceForm | None) -> dict[str, Any]:
    """The two-step device picker of a letter without a device: compounds the user may edit, then
    that compound's devices; a device registered with the letter's source address is suggested."""
    editable = Compound.objects.editable_by(request.user)
    suggested = list(
        Device.objects.editable_by(request.user).filter(ip_address=letter.remote_addr).select_related("compound")[:5]
        if letter.remote_addr
        else []
    )
    raw = request.GET.get("compound", "")
    compound = editable.filter(pk=int(raw)).first() if raw.isdigit() else None
    if compound is None and suggested:
        compound = suggested[0].compound
    if form is None:
        form = ReplayDeviceForm(
            user=request.user, compound=compound, initial=suggested[0].pk if len(suggested) == 1 else None
        )
    return {
        "compounds": editable.order_by("name").only("pk", "name"),
        "chosen_compound": compound,
        "suggested": suggested,
        "device_form": form,
    }


def _detail(request: HttpRequest, letter: DeadLetter, form: ReplayDeviceForm | None = None) -> HttpResponse:
    context: dict[str, Any] = {
        "letter": letter,
        "body": preview(letter),
        "headers": sorted(letter.headers.items()),
        "needs_device": needs_device(letter),
    }
    if letter.status != c.DeadLetterStatus.DISCARDED and needs_device(letter):
        context.update(_replay_device_context(request, letter, form))
    return render(request, "events/deadletter_detail.html", context, status=400 if form and form.errors else 200)


@login_required
def dead_letter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _letter(request, pk))


def _report_replay(request: HttpRequest, letter: DeadLetter) -> None:
    letter.refresh_from_db(fields=["status", "replay_result"])
    if letter.status == c.DeadLetterStatus.REPLAYED:
        messages.success(request, _("重放成功：%(result)s。") % {"result": letter.replay_result})
    else:
        messages.warning(request, _("重放后仍有问题：%(result)s。请修正后再试。") % {"result": letter.replay_result})


@login_required
@require_POST
def dead_letter_replay(request: HttpRequest, pk: int) -> HttpResponse:
    letter = _letter(request, pk)
    device = None
    if needs_device(letter):
        form = ReplayDeviceForm(request.POST, user=request.user)
        if not form.is_valid():
            return _detail(request, letter, form)
        device = form.cleaned_data["device"]
    try:
        services.replay_dead_letter(request.user, letter, device=device)
    except Rejected as exc:
        messages.error(request, exc.detail)
    except OSError:
        messages.error(request, _("存储暂不可用，重放未完成，请稍后再试。"))
    else:
        _report_replay(request, letter)
    return redirect("events:dead_letter", pk=letter.pk)


@login_required
@require_POST
def dead_letter_discard(request: HttpRequest, pk: int) -> HttpResponse:
    letter = _letter(request, pk)
    services.discard_dead_letter(request.user, letter)
    messages.success(request, _("死信 #%(pk)d 已丢弃（报文仍保留，可随时查看或重放）。") % {"pk": letter.pk})
    return redirect("events:dead_letter", pk=letter.pk)


@login_required
def dead_letter_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The raw body as kept, as a download: never rendered as the type the sender claimed."""
    letter = _letter(request, pk)
    base_type = letter.content_type.split(";")[0].strip().lower()
    ext = {"application/xml": ".xml", "text/xml": ".xml", "application/json": ".json"}.get(base_type)
    ext = ext or mimetypes.guess_extension(base_type) or ".bin"
    response = HttpResponse(bytes(letter.body), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="dead-letter-{letter.pk}{ext}"'
    return response


@login_required
@require_POST
def dead_letter_bulk_replay(request: HttpRequest) -> HttpResponse:
    """Replay the pending letters of the filtered list, oldest first, up to BULK_LIMIT a request."""
    form = _filter_form(request, request.POST)
    letters = list(
        form.to_filter()
        .apply(_letters(request))
        .filter(status=c.DeadLetterStatus.NEW)
        .order_by("received_at", "id")[:BULK_LIMIT]
    )
    query = urlencode(_filter_values(form, request.POST))
    back = reverse("events:dead_letters") + (f"?{query}" if query else "")
    if not letters:
        messages.info(request, _("筛选结果中没有待处理的死信。"))
        return redirect(back)
    replayed = still_rejected = skipped = 0
    for letter in letters:
        if needs_device(letter):
            skipped += 1
            continue
        try:
            services.replay_dead_letter(request.user, letter)
        except (Rejected, OSError):
            still_rejected += 1
            continue
        letter.refresh_from_db(fields=["status"])
        if letter.status == c.DeadLetterStatus.REPLAYED:
            replayed += 1
        else:
            still_rejected += 1
    summary = _("批量重放 %(total)d 封：成功 %(ok)d，仍被拒绝 %(bad)d，需先选择设备 %(skipped)d。") % {
        "total": len(letters),
        "ok": replayed,
        "bad": still_rejected,
        "skipped": skipped,
    }
    (messages.success if replayed and not still_rejected and not skipped else messages.warning)(request, summary)
    return redirect(back)
