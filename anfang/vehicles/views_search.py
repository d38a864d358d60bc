"""The plate search page and the pictures it shows (issue 8 §6; Art 9, Art 33(5)).

Every search is audited with its purpose (`search.search`). Thumbnails are served through
`search_picture`: a signed token issued by that audited search, bound to the user, re-checked
against the user's scope — never a public media URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from anfang.events.media import picture_response

from . import search as s
from .choices import Direction
from .models import Passage

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("车牌号"),
        max_length=32,
        help_text=_("可输入完整车牌或其中一部分；全角、小写、空格和“·”会自动规范。"),
        widget=forms.TextInput(attrs={"placeholder": "京A12345 / A12 / 京A?23* / 粤B8O0D5", "autocomplete": "off"}),
    )
    mode = forms.ChoiceField(label=_("查询方式"), choices=s.Mode.choices, initial=s.Mode.CONTAINS)
    any_province = forms.BooleanField(label=_("省份简称可能识别错误（模糊查询时忽略首字）"), required=False)
    since = forms.DateTimeField(label=_("开始时间"), required=False, widget=DATETIME_WIDGET)
    until = forms.DateTimeField(label=_("结束时间"), required=False, widget=DATETIME_WIDGET)
    direction = forms.ChoiceField(label=_("方向"), required=False, choices=[("", _("全部")), *Direction.choices])
    compounds: forms.ModelMultipleChoiceField = forms.ModelMultipleChoiceField(
        label=_("小区"),
        required=False,
        queryset=None,
        help_text=_("不选则查询您辖区/管理范围内的全部小区。"),
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    purpose = forms.CharField(
        label=_("查询事由"),
        max_length=255,
        help_text=_("必填（第33条第5款）：例如案件编号、警情编号或事由说明。每次查询都会记入访问审计日志。"),
        widget=forms.TextInput(attrs={"placeholder": _("例如：案件编号 A2026-118，寻找嫌疑车辆")}),
    )

    def __init__(self, *args: Any, compounds: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compounds"].queryset = compounds  # type: ignore[attr-defined]

    def to_query(self) -> s.PlateQuery:
        data = self.cleaned_data
        return s.PlateQuery(
            text=data["q"],
            mode=data["mode"],
            since=data.get("since"),
            until=data.get("until"),
            compounds=tuple(c.pk for c in data.get("compounds") or ()),
            direction=data.get("direction") or "",
            any_province=bool(data.get("any_province")),
        )


def _require_search_role(request: HttpRequest) -> None:
    if not s.can_search(request.user):
        raise PermissionDenied(_g("只有公安民警和小区管理人员可以查询过车记录。"))


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    _require_search_role(request)
    compounds = s.searchable_compounds(request.user).order_by("name")
    submitted = "q" in request.GET
    now = timezone.localtime().replace(second=0, microsecond=0)
    initial = {"until": now, "since": now - dt.timedelta(days=s.DEFAULT_DAYS)}
    form = SearchForm(request.GET if submitted else None, initial=initial, compounds=compounds)
    result = None
    if submitted and form.is_valid():
        try:
            result = s.search(request, form.to_query(), form.cleaned_data["purpose"])
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    form.add_error(name if name in form.fields else None, message)
    context = {
        "form": form,
        "result": result,
        "page": result.page if result else None,
        "is_police": s.is_police(request.user),
        "max_days": s.MAX_DAYS,
    }
    return render(request, "vehicles/search.html", context, status=200 if not form.errors else 400)


@login_required
def search_picture(request: HttpRequest, token: str, index: int) -> HttpResponseBase:
    """One picture of a passage listed by an audited search of this user, still in their scope."""
    _require_search_role(request)
    try:
        pk, received_at, _seq, user_id = s.read_picture_token(token)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise Http404(_g("图片链接无效或已过期，请重新查询。")) from exc
    if user_id != request.user.pk:
        raise Http404(_g("图片链接无效或已过期，请重新查询。"))
    passage = (
        Passage.objects.filter(pk=pk, received_at=received_at, compound__in=s.searchable_compounds(request.user))
        .only("pk", "pictures")
        .first()
    )
    if passage is None:
        raise Http404(_g("图片不存在。"))
    ref = passage.pictures[index] if 0 <= index < len(passage.pictures) else None
    return picture_response(ref, f"passage-{passage.pk}-{index}")
