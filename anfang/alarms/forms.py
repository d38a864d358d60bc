"""Forms of the alarm workflow steps (issue 6 §2). The services validate again: these forms only
shape the input and say plainly what is missing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import choices as c


class StepNoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class GuardField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class DispatchForm(forms.Form):
    guard = GuardField(
        label=_("派往（保安/巡防队员）"),
        queryset=None,  # set per compound: its guards
        empty_label=_("— 选择人员 —"),
        error_messages={
            "required": _("请选择派往的保安/巡防队员。"),
            "invalid_choice": _("所选人员不是本小区的保安/巡防队员。"),
        },
    )
    note = forms.CharField(
        label=_("派警说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, guards: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["guard"]
        assert isinstance(field, GuardField)
        field.queryset = guards


class CloseForm(forms.Form):
    cause = forms.ChoiceField(
        label=_("关闭原因"),
        choices=c.CloseCause.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择关闭原因。")},
    )
    note = forms.CharField(
        label=_("处置说明"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("经过、处置结果（记入值班日志，第16条）")}),
        error_messages={"required": _("请填写处置说明。")},
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("请填写处置说明。"))
        return note


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M:%S", attrs={"step": 1}, **kwargs)


class PoliceReportForm(forms.Form):
    """Art 16: 明确警情后及时向公安机关报警 — how, when, the report number and the officer."""

    means = forms.ChoiceField(
        label=_("报警方式"),
        choices=[("", _("— 选择 —")), *c.ReportMeans.choices],
        error_messages={"required": _("请选择报警方式。")},
    )
    reported_at = forms.DateTimeField(
        label=_("报警时间"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=LocalDateTimeInput(),
        error_messages={"required": _("请填写报警时间。"), "invalid": _("报警时间格式不对，例如 2025-03-01 10:02。")},
    )
    report_number = forms.CharField(label=_("接警编号"), required=False, max_length=64)
    officer = forms.CharField(label=_("接警民警"), required=False, max_length=64)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"reported_at": timezone.localtime().replace(microsecond=0)})
        super().__init__(*args, **kwargs)
