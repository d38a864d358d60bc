"""Police uplink status pages (Art 9: 与公安机关监控平台联网): the overview (counts by status,
compound and kind, oldest waiting record, latest errors), the message list with filters, one
message with its GA/T 1400 payload and attempts, and re-queueing failed or dead messages.
Out of scope → 404; a role that may not see the uplink → 403."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.audit.choices import AuditAction
from anfang.audit.decorators import audited, note
from anfang.compounds.models import Compound
from anfang.core.grants import has_role

from . import conf, selectors, services
from .filters import MessageFilterForm
from .models import OutboxMessage

PER_PAGE = 50
COUNT_CAP = 10_000  # beyond this the list says "more than" (a count over millions of rows is slow)
ATTEMPTS_SHOWN = 50


class CappedPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        qs: Any = self.object_list
        return qs.order_by()[: COUNT_CAP + 1].count()


def _require_viewer(request: HttpRequest) -> None:
    if not selectors.can_view(request.user):
        raise PermissionDenied(_("公安联网上传状态仅对平台管理员、公安民警和物业/社区管理人员开放。"))


def _form(request: HttpRequest, data: Any) -> MessageFilterForm:
    return MessageFilterForm(data, compounds=Compound.objects.in_scope_of_roles(request.user, selectors.VIEW_ROLES))


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    now = timezone.now()
    qs = selectors.visible_messages(request.user)
    rows, total_rows = selectors.by_compound(qs, now)
    context = {
        "summary": selectors.summary(qs, now),
        "rows": rows,
        "total_rows": total_rows,
        "errors": selectors.last_errors(qs),
        "now": now,
        "endpoint": conf.get("URL"),
    }
    return render(request, "uplink/overview.html", context)


@login_required
def message_list(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    form = _form(request, request.GET)
    qs = form.apply(selectors.visible_messages(request.user)).select_related("compound").defer("payload")
    page = CappedPaginator(qs.order_by("-id"), PER_PAGE).get_page(request.GET.get("page"))
    filters = [(name, str(request.GET.get(name))) for name in form.fields if request.GET.get(name)]
    context = {
        "form": form,
        "page": page,
        "capped": page.paginator.count > COUNT_CAP,
        "can_requeue": has_role(request.user, selectors.REQUEUE_ROLES),
        "filters": filters,
        "bulk_limit": services.BULK_LIMIT,
    }
    return render(request, "uplink/message_list.html", context)


def _message(request: HttpRequest, pk: int) -> OutboxMessage:
    _require_viewer(request)
    return get_object_or_404(selectors.visible_messages(request.user).select_related("compound"), pk=pk)


@login_required
@audited(AuditAction.VIEW, "uplink.message")
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The payload carries the plate and picture paths (vehicle data): viewing it is audited (Art 33(5))."""
    message = _message(request, pk)
    note(request, compound_id=message.compound_id, detail={"external_id": message.external_id})
    context = {
        "message": message,
        "payload": json.dumps(message.payload, ensure_ascii=False, indent=2),
        "attempts": list(message.attempt_log.order_by("-id")[:ATTEMPTS_SHOWN]),
        "attempts_total": message.attempt_log.count(),
        "can_requeue": selectors.can_requeue(request.user, message),
        "requeueable": message.status in services.REQUEUEABLE,
    }
    return render(request, "uplink/message_detail.html", context)


@login_required
@require_POST
def message_requeue(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(request, pk)
    if not selectors.can_requeue(request.user, message):
        raise PermissionDenied(_("只有小区的物业/社区管理人员和平台管理员可以重新排队。"))
    try:
        services.requeue(message)
    except services.RequeueRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已重新排队，发送程序将立即重试。"))
    return redirect("uplink:message", pk=message.pk)


@login_required
@require_POST
def bulk_requeue(request: HttpRequest) -> HttpResponse:
    """Re-queue the failed and dead messages the posted filter selects (those the user may re-queue)."""
    _require_viewer(request)
    form = _form(request, request.POST)
    if not form.is_valid():
        messages.error(request, _("筛选条件无效，未重新排队。"))
    else:
        count = services.requeue_many(form.apply(selectors.requeueable_messages(request.user)))
        if count:
            messages.success(request, _("已重新排队 %(n)d 条消息。") % {"n": count})
        else:
            messages.warning(request, _("筛选结果中没有您可重新排队的失败或已放弃消息。"))
    query = urlencode([(k, str(request.POST[k])) for k in form.fields if request.POST.get(k)])
    return redirect(f"{reverse('uplink:messages')}?{query}" if query else reverse("uplink:messages"))
