"""The message list filter (status page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound
from anfang.events.forms import QuickSelect

from . import choices as c

PERIODS: dict[str, dt.timedelta | None] = {
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "all": None,
}
PERIOD_CHOICES = [
    ("all", _("全部时间")),
    ("24h", _("最近 24 小时")),
    ("7d", _("最近 7 天")),
    ("30d", _("最近 30 天")),
]


class MessageFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("上报编号或过车记录编号")}),
    )
    compound = forms.ModelChoiceField(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全部"), widget=QuickSelect
    )
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[("", _("全部")), *c.MessageKind.choices])
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *c.Status.choices])
    period = forms.ChoiceField(label=_("入队时间"), required=False, choices=PERIOD_CHOICES)

    def __init__(self, data: Any = None, *, compounds: QuerySet[Compound]) -> None:
        super().__init__(data)
        field = self.fields["compound"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = compounds.order_by("name").only("pk", "name")

    def apply(self, qs: QuerySet, now: dt.datetime | None = None) -> QuerySet:
        """The filtered list; invalid fields are ignored (the page says which)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if q := (data.get("q") or "").strip():
            match = Q(external_id=q)
            if q.isdigit() and len(q) <= 18:
                match |= Q(object_id=int(q))
            qs = qs.filter(match)
        if data.get("compound"):
            qs = qs.filter(compound=data["compound"])
        if data.get("kind"):
            qs = qs.filter(kind=data["kind"])
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        span = PERIODS.get(data.get("period") or "all")
        if span is not None:
            qs = qs.filter(created_at__gte=(now or timezone.now()) - span)
        return qs
