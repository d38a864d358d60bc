"""Forms of the retention pages. The floor check is the service's (`services.check_floor`): the
form shows its message, with the article, on the days field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound
from anfang.devices.models import Device

from . import services
from .choices import DataClass
from .registry import CLASSES


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DeviceChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.compound.name} · {obj.name}"


class PolicyForm(forms.Form):
    data_class = forms.ChoiceField(label=_("数据类别"), choices=DataClass.choices)
    compound = forms.ModelChoiceField(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全局（所有小区）")
    )
    days = forms.IntegerField(label=_("保存天数"), min_value=1, max_value=36500)
    note = forms.CharField(label=_("说明"), max_length=255, required=False)

    def __init__(self, *args: Any, compounds: QuerySet, allow_global: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["compound"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = compounds
        field.required = not allow_global
        self.fields["days"].help_text = "；".join(f"{spec.label} ≥ {spec.floor_days}" for spec in CLASSES.values())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("data_class") and data.get("days"):
            try:
                services.check_floor(data["data_class"], data["days"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


class HoldForm(forms.Form):
    case_number = forms.CharField(label=_("案件编号"), max_length=64)
    reason = forms.CharField(label=_("保全原因"), widget=forms.Textarea(attrs={"rows": 3}))
    compound = forms.ModelChoiceField(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全平台")
    )
    device = DeviceChoice(label=_("设备"), queryset=Device.objects.none(), required=False, empty_label=_("不限"))
    data_from = forms.DateTimeField(
        label=_("数据起始时间"), required=False, widget=LocalDateTimeInput(), help_text=_("留空为不限")
    )
    data_to = forms.DateTimeField(
        label=_("数据截止时间"), required=False, widget=LocalDateTimeInput(), help_text=_("留空为不限（含以后的数据）")
    )

    def __init__(self, *args: Any, compounds: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        compound = self.fields["compound"]
        device = self.fields["device"]
        assert isinstance(compound, forms.ModelChoiceField) and isinstance(device, forms.ModelChoiceField)
        compound.queryset = compounds
        device.queryset = Device.objects.filter(compound__in=compounds.values("pk")).select_related("compound")

    groups = property(lambda self: [(None, list(self))])


class ReleaseForm(forms.Form):
    note = forms.CharField(label=_("解除说明"), max_length=255, required=False)
