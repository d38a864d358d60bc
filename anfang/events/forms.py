"""Forms of the event pages: the event and dead-letter list filters, and the device a dead letter
is replayed as."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from anfang.compounds.forms import blank_choice
from anfang.compounds.models import Compound
from anfang.devices.models import Device

from . import choices as c
from .filters import ANY_FLAG, DeadLetterFilter, EventFilter

PERIODS: dict[str, dt.timedelta | None] = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "all": None,
}
DEFAULT_PERIOD = "7d"
PERIOD_CHOICES = [
    ("1h", _("最近 1 小时")),
    ("24h", _("最近 24 小时")),
    ("7d", _("最近 7 天")),
    ("30d", _("最近 30 天")),
    ("all", _("全部时间")),
]
# Devices listed in the device dropdown at most; with more, pick the compound first.
DEVICE_OPTIONS_LIMIT = 300


class QuickSelect(forms.Select):
    """A dropdown rendered in one pass instead of one template per option: the compound filter of
    a city officer lists some 1,500 compounds, which the stock widget takes ~0.2 s to draw."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v is not None}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, " selected" if key in chosen else "", label) for key, label in self._flat_choices()),
        )
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        return format_html("<select{}>{}</select>", flatatt(final), options)

    def _flat_choices(self) -> Any:
        for key, label in self.choices:
            if isinstance(label, list | tuple):  # an option group: flattened
                yield from ((str(k), str(v)) for k, v in label)
            else:
                yield ("" if key is None else str(key)), str(label)


def _moment_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class ScopedListForm(forms.Form):
    """What the event and dead-letter filters share: compound and device limited to what the user
    may look at, and a received-time range."""

    compound = forms.ModelChoiceField(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全部"), widget=QuickSelect
    )
    device = forms.ModelChoiceField(
        label=_("设备"), queryset=Device.objects.none(), required=False, empty_label=_("全部"), widget=QuickSelect
    )
    since = _moment_field(_("接收时间起"))
    until = _moment_field(_("接收时间止"))

    def __init__(self, data: Any, *, compounds: QuerySet[Compound]) -> None:
        super().__init__(data)
        compound_field = self.fields["compound"]
        compound_field.queryset = compounds.order_by("name").only("pk", "name")  # type: ignore[attr-defined]
        devices = Device.objects.filter(compound__in=compounds.values("pk"))
        device_field = self.fields["device"]
        device_field.queryset = devices  # type: ignore[attr-defined]
        # A city has tens of thousands of devices: offer the chosen compound's devices (or all of
        # them when only one compound is in sight), plus the device already chosen.
        compound = self._raw_int("compound")
        listed = bool(compound) or compounds.count() == 1
        shown = devices.filter(compound_id=compound) if compound else devices if listed else devices.none()
        options = list(shown.only("pk", "name")[:DEVICE_OPTIONS_LIMIT])
        chosen = self._raw_int("device")
        if chosen and chosen not in {d.pk for d in options}:
            options += list(devices.filter(pk=chosen).only("pk", "name"))
        blank = _("全部") if listed else _("全部（先选小区以列出设备）")
        device_field.widget.choices = [("", blank), *((d.pk, d.name) for d in options)]

    def _raw_int(self, name: str) -> int | None:
        raw = self.data.get(name) if self.data else None
        return int(raw) if raw and str(raw).isdigit() else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", _("结束时间应晚于开始时间。"))
        return data

    def _common(self) -> dict[str, Any]:
        self.is_valid()
        data = self.cleaned_data
        return {
            "compound": data["compound"].pk if data.get("compound") else None,
            "device": data["device"].pk if data.get("device") else None,
            "since": data.get("since"),
            "until": data.get("until") if "until" not in self.errors else None,
        }


class EventFilterForm(ScopedListForm):
    kind = forms.ChoiceField(label=_("事件类型"), choices=blank_choice(c.EventKind.choices), required=False)
    min_severity = forms.TypedChoiceField(
        label=_("最低级别"), choices=blank_choice(c.Severity.choices), coerce=int, empty_value=None, required=False
    )
    source = forms.ChoiceField(label=_("来源"), choices=blank_choice(c.Source.choices), required=False)
    flag = forms.ChoiceField(
        label=_("标记"), choices=[("", _("全部")), (ANY_FLAG, _("有任一标记")), *c.Flag.choices], required=False
    )
    period = forms.ChoiceField(label=_("时间范围"), choices=PERIOD_CHOICES, required=False)
    field_order = ["compound", "device", "kind", "min_severity", "source", "flag", "period", "since", "until"]

    def __init__(self, data: Any, *, compounds: QuerySet[Compound]) -> None:
        if data is not None and not data.get("period"):
            data = data.copy()
            data["period"] = DEFAULT_PERIOD  # so the dropdown shows the period in effect
        super().__init__(data, compounds=compounds)

    @property
    def effective_period(self) -> str:
        """The period in effect: none when a start or end is given, else the chosen one (7 days
        when nothing is chosen — the newest partitions are the ones people look at)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        if data.get("since") or data.get("until"):
            return ""
        return data.get("period") or DEFAULT_PERIOD

    def to_filter(self) -> EventFilter:
        """The filter of the valid fields; an invalid field is reported and left unfiltered."""
        common = self._common()
        data = self.cleaned_data
        span = PERIODS.get(self.effective_period)
        if span is not None:
            common["since"] = timezone.now() - span
        return EventFilter(
            kind=data.get("kind") or None,
            min_severity=data.get("min_severity"),
            source=data.get("source") or None,
            flag=data.get("flag") or None,
            **common,
        )


class DeadLetterFilterForm(ScopedListForm):
    status = forms.ChoiceField(label=_("处理状态"), choices=blank_choice(c.DeadLetterStatus.choices), required=False)
    reason = forms.ChoiceField(label=_("原因"), choices=blank_choice(c.DeadLetterReason.choices), required=False)
    source = forms.ChoiceField(label=_("来源"), choices=blank_choice(c.Source.choices), required=False)
    field_order = ["status", "reason", "source", "compound", "device", "since", "until"]

    def to_filter(self) -> DeadLetterFilter:
        common = self._common()
        data = self.cleaned_data
        return DeadLetterFilter(
            status=data.get("status") or None,
            reason=data.get("reason") or None,
            source=data.get("source") or None,
            **common,
        )


class ReplayDeviceForm(forms.Form):
    """For a letter no device could be tied to: the device it came from, among the devices of
    compounds the user may edit. The page picks the compound first, so the list stays short."""

    device = forms.ModelChoiceField(label=_("发送该报文的设备"), queryset=Device.objects.none())

    def __init__(self, data: Any = None, *, user: Any, compound: Compound | None = None, initial: Any = None) -> None:
        super().__init__(data, initial={"device": initial})
        devices = Device.objects.editable_by(user)
        field = self.fields["device"]
        field.queryset = devices  # type: ignore[attr-defined]
        field.error_messages["invalid_choice"] = _("所选设备不存在或不在您可编辑的小区。")
        shown = devices.filter(compound=compound) if compound else devices.none()
        field.widget.choices = [("", "---------"), *((d.pk, d.name) for d in shown.only("pk", "name"))]
