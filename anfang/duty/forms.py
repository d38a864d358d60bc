"""Forms of the duty pages: plan a shift, sign off with the handover note, a manual log entry, and
the filters of the log. Rules live in duty.services; these forms parse input and show per-field
messages (the service's ValidationError is attached to the fields it names)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anfang.compounds.models import Compound, DutyRoom
from anfang.core.choices import Role
from anfang.core.models import RoleGrant

from . import choices as c

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def model_choice(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


def rooms_queryset(compound: Compound) -> QuerySet[DutyRoom]:
    return DutyRoom.objects.filter(compound=compound).order_by("-is_monitoring_centre", "id")


def operators_of(compound: Compound) -> QuerySet:
    """Users holding the duty-operator role on this compound (a grant on the compound itself or on
    an organisation above it: its company, community or station)."""
    org_ids = {
        int(part)
        for org in (compound.police_station, compound.community, compound.property_company)
        if org is not None
        for part in org.path.strip("/").split("/")
        if part
    }
    grants = RoleGrant.objects.filter(role=Role.DUTY_OPERATOR).filter(
        Q(compound=compound) | Q(organisation__in=org_ids)
    )
    return get_user_model().objects.filter(pk__in=grants.values("user_id"), is_active=True).order_by("username")


class OperatorChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        return f"{full}（{obj.get_username()}）" if full else obj.get_username()


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=DATETIME_LOCAL, **kwargs)


class ShiftForm(forms.Form):
    """Art 16: the roster that keeps every duty room staffed around the clock."""

    duty_room = forms.ModelChoiceField(label=_("值班室"), queryset=DutyRoom.objects.none(), empty_label=None)
    operator = OperatorChoice(label=_("值班员"), queryset=get_user_model().objects.none())
    starts_at = forms.DateTimeField(
        label=pgettext_lazy("time span", "开始"), widget=LocalDateTimeInput(), input_formats=[DATETIME_LOCAL]
    )
    ends_at = forms.DateTimeField(
        label=pgettext_lazy("time span", "结束"), widget=LocalDateTimeInput(), input_formats=[DATETIME_LOCAL]
    )
    note = forms.CharField(label=_("备注"), max_length=255, required=False)

    def __init__(self, *args: Any, compound: Compound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "duty_room").queryset = rooms_queryset(compound)
        model_choice(self, "operator").queryset = operators_of(compound)
        self.fields["operator"].error_messages["invalid_choice"] = _("所选人员不是本小区的值班员。")
        self.fields["operator"].help_text = _("只列出持有本小区值班员授权的人员。")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", _("结束时间必须晚于开始时间。"))
        return data

    def attach(self, error: ValidationError) -> None:
        """Put a service's validation error on the fields it names (the rest above the form)."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class SignOffForm(forms.Form):
    handover_note = forms.CharField(
        label=_("交接班说明"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("下一班值班员上岗时首先看到这段说明：未处理完的报警、设备故障、需要关注的事项。"),
        error_messages={"required": _("请填写交接班说明。")},
    )


class NoteForm(forms.Form):
    duty_room = forms.ModelChoiceField(label=_("值班室"), queryset=DutyRoom.objects.none(), empty_label=None)
    text = forms.CharField(
        label=_("记录内容"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写记录内容。")},
    )

    def __init__(self, *args: Any, compound: Compound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "duty_room").queryset = rooms_queryset(compound)


class LogFilterForm(forms.Form):
    day = forms.DateField(label=_("日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("类别"), required=False, choices=[("", _("全部")), *c.LogKind.choices])
    room = forms.ModelChoiceField(
        label=_("值班室"), required=False, queryset=DutyRoom.objects.none(), empty_label=_("全部")
    )

    def __init__(self, *args: Any, compound: Compound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "room").queryset = rooms_queryset(compound)

    def value(self, name: str) -> Any:
        """A filter's cleaned value; an invalid one is ignored (the bar says so)."""
        self.is_valid()
        return self.cleaned_data.get(name)


def parse_day(raw: str | None, default: dt.date) -> dt.date | None:
    """`?day=YYYY-MM-DD`; None when given but not a date (the view answers 404)."""
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None
