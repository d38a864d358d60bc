"""Forms of the device pages: the list filter and the device form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from anfang.compounds.filters import DeviceFilter
from anfang.compounds.forms import CompoundBoundForm, blank_choice, formfield
from anfang.compounds.models import Compound

from . import choices as c
from .models import PLACE_FIELDS, Device

# What a device table needs to name the compound and the place without a query per row.
PLACE_RELATED = ("compound", *(f"{f}__building" if f in {"unit", "elevator"} else f for f in PLACE_FIELDS))


def with_place(qs: QuerySet[Device]) -> QuerySet[Device]:
    return qs.select_related(*PLACE_RELATED)


class DeviceFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, max_length=100, help_text=_("名称、序列号、IP、型号"))
    compound = forms.ModelChoiceField(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全部")
    )
    subsystem = forms.ChoiceField(label=_("子系统（第7条）"), choices=blank_choice(c.Subsystem.choices), required=False)
    device_type = forms.ChoiceField(label=_("设备类型"), choices=blank_choice(c.DeviceType.choices), required=False)
    vendor = forms.ChoiceField(label=_("厂商"), choices=blank_choice(c.Vendor.choices), required=False)
    status = forms.ChoiceField(label=_("状态"), choices=blank_choice(c.DeviceStatus.choices), required=False)

    def __init__(self, data: Any, *, compounds: QuerySet[Compound]) -> None:
        super().__init__(data)
        self.fields["compound"].queryset = compounds  # type: ignore[attr-defined]

    def to_filter(self) -> DeviceFilter:
        """The filter of the valid fields; an invalid field is reported and left unfiltered."""
        self.is_valid()
        data = self.cleaned_data
        return DeviceFilter(
            q=data.get("q") or None,
            compound=data["compound"].pk if data.get("compound") else None,
            **{name: data.get(name) or None for name in ("subsystem", "device_type", "vendor", "status")},
        )


class DeviceForm(CompoundBoundForm):
    fieldsets = (
        (
            _("基本信息"),
            ("name", "device_type", "subsystem", "vendor", "model", "serial", "status", "install_date"),
        ),
        (_("网络"), ("ip_address", "mac_address")),
        (_("安装位置（覆盖部位，第9、11、13条）"), (*PLACE_FIELDS, "location_note")),
        (_("能力（第9条）"), ("resolution_width", "resolution_height", "anpr", "police_linked")),
        (
            _("产品证书（第24条）"),
            ("certificate_kind", "certificate_number", "certificate_issuer", "certificate_valid_until"),
        ),
    )

    class Meta:
        model = Device
        exclude = ["compound"]
        formfield_callback = formfield

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The service fills the usual subsystem of the device type when left empty.
        self.fields["subsystem"].required = False
        self.fields["subsystem"].help_text = _("留空则按设备类型自动选择")


class PushPathForm(forms.Form):
    """The source addresses a secret push path is accepted from; the service checks each entry."""

    allowed_sources = forms.CharField(
        label=_("允许的来源地址"),
        max_length=255,
        required=False,
        help_text=_("逗号分隔的 IP 或网段（如 10.0.0.0/24）；只接受来自这些地址的推送"),
    )
