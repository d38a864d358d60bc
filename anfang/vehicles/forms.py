"""Forms of the vehicle pages. Rules live in vehicles.services: the forms parse input, and a
ValidationError from a service is shown on the field it names (`core.views.add_service_errors`)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound, Entrance, ParkingEntrance, ParkingLot, Unit

from . import choices as c
from .lists import unit_label
from .models import ListEntry, ResidentVehicle, VisitorPass, WatchEntry

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=DATETIME_LOCAL, **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return unit_label(obj)


class EntryForm(forms.ModelForm):
    """Shared: the compound is fixed by the page; choices of places come from that compound."""

    def __init__(self, *args: Any, compound: Compound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.compound = compound
        for name in ("unit", "host_unit"):
            if name in self.fields:
                field = cast(forms.ModelChoiceField, self.fields[name])
                self.fields[name] = UnitChoice(
                    queryset=Unit.objects.filter(compound=compound)
                    .select_related("building")
                    .order_by("building__name", "name"),
                    required=False,
                    label=field.label,
                    initial=field.initial,
                )
        if "parking_lot" in self.fields:
            cast(forms.ModelChoiceField, self.fields["parking_lot"]).queryset = ParkingLot.objects.filter(
                compound=compound
            )

    def _post_clean(self) -> None:
        # Only copy the data onto the instance: model validation runs in the service, after the
        # plate is normalised (services.prepare).
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]


class ResidentVehicleForm(EntryForm):
    class Meta:
        model = ResidentVehicle
        fields = [
            "plate",
            "plate_colour",
            "owner_name",
            "owner_phone",
            "unit",
            "household",
            "parking_lot",
            "valid_from",
            "valid_to",
            "note",
        ]
        widgets = {"valid_from": DateInput(), "valid_to": DateInput()}


class VisitorPassForm(EntryForm):
    class Meta:
        model = VisitorPass
        fields = [
            "plate",
            "visitor_name",
            "visitor_phone",
            "issued_by",
            "host_name",
            "host_unit",
            "valid_from",
            "valid_to",
            "kind",
            "note",
        ]
        widgets = {"valid_from": LocalDateTimeInput(), "valid_to": LocalDateTimeInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("valid_from", "valid_to"):
            cast(forms.DateTimeField, self.fields[name]).input_formats = [DATETIME_LOCAL, "%Y-%m-%d %H:%M"]


class WatchEntryForm(EntryForm):
    class Meta:
        model = WatchEntry
        fields = ["plate", "reason", "added_by_name", "expires_at", "notify_station", "note"]
        widgets = {"expires_at": LocalDateTimeInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.DateTimeField, self.fields["expires_at"]).input_formats = [DATETIME_LOCAL, "%Y-%m-%d %H:%M"]


FORMS: dict[type[ListEntry], type[EntryForm]] = {
    ResidentVehicle: ResidentVehicleForm,
    VisitorPass: VisitorPassForm,
    WatchEntry: WatchEntryForm,
}


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel 文件（.xlsx）"))


STATUS_CHOICES = [("", _("全部")), ("current", _("有效")), ("ended", _("已失效"))]


class ListFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"), required=False, widget=forms.TextInput(attrs={"placeholder": _("车牌、姓名、电话")})
    )
    status = forms.ChoiceField(label=_("状态"), required=False, choices=STATUS_CHOICES)

    def value(self, name: str) -> Any:
        """A filter's cleaned value; an invalid one is ignored (the bar says so)."""
        self.is_valid()
        return self.cleaned_data.get(name)


class PassageFilterForm(forms.Form):
    q = forms.CharField(
        label=_("车牌"), required=False, widget=forms.TextInput(attrs={"placeholder": _("车牌开头，如 辽H")})
    )
    day = forms.DateField(label=_("日期"), required=False, widget=DateInput())
    direction = forms.ChoiceField(label=_("方向"), required=False, choices=[("", _("全部")), *c.Direction.choices])
    decision = forms.ChoiceField(label=_("道闸判定"), required=False, choices=[("", _("全部")), *c.Decision.choices])
    pending = forms.BooleanField(label=_("仅待确认"), required=False)

    def value(self, name: str) -> Any:
        self.is_valid()
        return self.cleaned_data.get(name)


class ConfirmForm(forms.Form):
    plate = forms.CharField(label=_("车牌号"), max_length=16)


class OpenForm(forms.Form):
    """A manual open from the console: where, and why (required, Art 11)."""

    place = forms.ChoiceField(label=_("道闸"), required=False)
    plate = forms.CharField(
        label=_("车牌号"), max_length=16, required=False, widget=forms.TextInput(attrs={"placeholder": _("车牌号")})
    )
    reason = forms.CharField(
        label=_("开闸原因"), max_length=255, error_messages={"required": _("人工开闸必须填写原因（第11条）。")}
    )
    passage = forms.IntegerField(required=False, widget=forms.HiddenInput())

    def __init__(self, *args: Any, compound: Compound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compound = compound
        self.places: dict[str, Entrance | ParkingEntrance] = {}
        for entrance in Entrance.objects.filter(compound=compound).order_by("name"):
            self.places[f"e{entrance.pk}"] = entrance
        for pe in ParkingEntrance.objects.filter(compound=compound).order_by("name"):
            self.places[f"p{pe.pk}"] = pe
        cast(forms.ChoiceField, self.fields["place"]).choices = [
            ("", _("（随过车记录）")),
            *[(key, place.name) for key, place in self.places.items()],
        ]

    def place_kwargs(self) -> dict[str, Any]:
        place = self.places.get(self.cleaned_data.get("place") or "")
        if isinstance(place, ParkingEntrance):
            return {"parking_entrance": place}
        if isinstance(place, Entrance):
            return {"entrance": place}
        return {}
