"""Forms of the audit pages: the audit filters, an export request, a decision on one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound

from .choices import AuditAction, ExportFormat, ExportKind
from .exports import exporter_for
from .models import AuditEntry


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("操作"), required=False, choices=[("", _("全部")), *AuditAction.choices])
    object_type = forms.CharField(label=_("对象类型"), required=False, max_length=64)
    compound = forms.ModelChoiceField(label=_("小区"), required=False, queryset=Compound.objects.none())
    date_from = forms.DateField(label=_("开始日期"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("结束日期"), required=False, widget=DateInput())
    purpose = forms.CharField(label=_("用途包含"), required=False, max_length=100)

    def __init__(self, *args: Any, compounds: QuerySet[Compound], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["compound"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = compounds.order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        return data

    def apply(self, qs: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        """The valid filters applied (an invalid one is ignored and shown as such)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        zone = timezone.get_current_timezone()
        if data.get("actor"):
            qs = qs.filter(actor_name__icontains=data["actor"])
        if data.get("action"):
            qs = qs.filter(action=data["action"])
        if data.get("object_type"):
            qs = qs.filter(object_type__istartswith=data["object_type"])
        if data.get("compound"):
            qs = qs.filter(compound_id=data["compound"].pk)
        if data.get("date_from"):
            qs = qs.filter(at__gte=dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=zone))
        if data.get("date_to") and "date_to" not in self.errors:
            qs = qs.filter(at__lt=dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=zone))
        if data.get("purpose"):
            qs = qs.filter(Q(purpose__icontains=data["purpose"]))
        return qs


class ExportRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("导出内容"), choices=ExportKind.choices)
    fmt = forms.ChoiceField(
        label=_("文件格式"),
        choices=ExportFormat.choices,
        initial=ExportFormat.XLSX,
        help_text=_("图片总是打包为 ZIP。"),
    )
    compounds = forms.ModelMultipleChoiceField(label=_("小区"), queryset=Compound.objects.none())
    date_from = forms.DateField(label=_("开始日期"), widget=DateInput())
    date_to = forms.DateField(label=_("结束日期"), widget=DateInput())
    plate = forms.CharField(label=_("车牌号（可选）"), required=False, max_length=16)
    purpose = forms.CharField(
        label=_("用途"),
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("说明为何需要导出（第33条第5项：不得外泄、不得用于侵犯他人合法权益）。"),
    )

    def __init__(self, *args: Any, compounds: QuerySet[Compound], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["compounds"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = compounds.order_by("name")
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [(value, label) for value, label in ExportKind.choices if exporter_for(value)]
        today = timezone.localdate()
        self.fields["date_from"].initial = today - dt.timedelta(days=1)
        self.fields["date_to"].initial = today

    def filters(self) -> dict[str, Any]:
        plate = (self.cleaned_data.get("plate") or "").strip().upper()
        return {"plate": plate} if plate else {}


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("审批意见"), required=False, max_length=255)
