"""Forms of the patrol pages (Art 10 electronic patrol; Art 6 patrol teams): checkpoints, routes and
their stops, plans, teams, and the guard's exception report. Every choice list is limited to what
the manager may manage, so a compound, route or guard outside their scope is an "invalid choice"
naming the field, never a silent save. Model rules (unique codes, places of the compound, start
times, one assignee) run in the models' clean() and land next to their fields."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Building, Compound, DutyRoom, PublicArea, Unit
from anfang.core.choices import OrgKind, Role
from anfang.core.models import Organisation, RoleGrant
from anfang.devices.models import Device

from . import choices as c
from .models import Checkpoint, PatrolTeam, Plan, Route

WALKER_ROLES = (Role.GUARD, Role.DUTY_OPERATOR)


def model_choice(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


def person(user: Any) -> str:
    full = user.get_full_name()
    return f"{full}（{user.get_username()}）" if full else user.get_username()


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return person(obj)


class PeopleChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return person(obj)


class CompoundChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


def org_ids_above(compounds: QuerySet[Compound]) -> set[int]:
    """The organisations whose grants reach these compounds: each compound's station, community and
    company, and everything above them in the tree."""
    ids: set[int] = set()
    for paths in compounds.values_list("police_station__path", "community__path", "property_company__path"):
        for path in paths:
            ids.update(int(p) for p in (path or "").strip("/").split("/") if p)
    return ids


def walkers_of(compounds: QuerySet[Compound]) -> QuerySet:
    """People who may walk patrols in these compounds: guards and duty operators granted on one of
    them or on an organisation above them, and members of the patrol teams covering them."""
    grants = RoleGrant.objects.filter(role__in=WALKER_ROLES).filter(
        Q(compound__in=compounds) | Q(organisation__in=org_ids_above(compounds))
    )
    teams = PatrolTeam.objects.filter(compounds__in=compounds, active=True)
    return (
        get_user_model()
        .objects.filter(Q(pk__in=grants.values("user_id")) | Q(pk__in=teams.values("members")), is_active=True)
        .distinct()
        .order_by("username")
    )


class Checkboxes(forms.CheckboxSelectMultiple):
    """Ticks laid out in a row. Its own input_type keeps the shared field template from taking the
    whole list for one yes/no checkbox; each option still renders as a checkbox."""

    input_type = "checkboxes"

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        option["type"] = "checkbox"
        return option


class GroupedForm:
    """Field groups for the shared form template: (legend, [bound fields])."""

    fields: dict[str, Any]
    _errors: Any
    GROUPS: tuple[tuple[Any, tuple[str, ...]], ...] = ()

    def _post_clean(self) -> None:
        # The model's clean() repeats some field checks (start times, assignee): say each once.
        super()._post_clean()  # type: ignore[misc]
        for name, errors in list((self._errors or {}).items()):
            unique = list(dict.fromkeys(errors))
            if len(unique) != len(errors):
                self._errors[name] = self.error_class(unique)  # type: ignore[attr-defined]

    @property
    def groups(self) -> list[tuple[Any, list[Any]]]:
        form = cast(forms.BaseForm, self)
        return [(title, [form[n] for n in names if n in self.fields]) for title, names in self.GROUPS]


class CheckpointForm(GroupedForm, forms.ModelForm):
    GROUPS = (
        (_("巡查点"), ("compound", "name", "location", "tag_kind", "code", "active")),
        (_("位置关联（可选）"), ("building", "unit", "public_area", "device", "note")),
    )

    class Meta:
        model = Checkpoint
        fields = [
            "compound",
            "name",
            "location",
            "tag_kind",
            "code",
            "active",
            "building",
            "unit",
            "public_area",
            "device",
            "note",
        ]
        field_classes = {"compound": CompoundChoice}
        error_messages = {
            "name": {"required": _("请填写巡查点名称。")},
            "code": {"required": _("请填写标识码（标签 UID、二维码内容或信标 ID）。")},
            "compound": {"invalid_choice": _("所选小区不在您的管理范围内。")},
        }

    def __init__(self, *args: Any, compounds: QuerySet[Compound], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "compound").queryset = compounds.order_by("name", "pk")
        if self.instance.pk:  # a checkpoint stays in its compound: its tag is fixed there
            self.fields["compound"].disabled = True
        places = compounds.values("pk")
        model_choice(self, "building").queryset = Building.objects.filter(compound__in=places).order_by("name")
        model_choice(self, "unit").queryset = Unit.objects.filter(compound__in=places).order_by("name")
        model_choice(self, "public_area").queryset = PublicArea.objects.filter(compound__in=places).order_by("name")
        model_choice(self, "device").queryset = Device.objects.filter(
            compound__in=places, device_type="patrol_checkpoint"
        ).order_by("name")


class RouteForm(GroupedForm, forms.ModelForm):
    GROUPS = ((_("巡查路线"), ("compound", "name", "ordered", "min_minutes", "max_minutes", "active", "note")),)

    class Meta:
        model = Route
        fields = ["compound", "name", "ordered", "min_minutes", "max_minutes", "active", "note"]
        field_classes = {"compound": CompoundChoice}
        error_messages = {
            "name": {"required": _("请填写路线名称。")},
            "compound": {"invalid_choice": _("所选小区不在您的管理范围内。")},
        }

    def __init__(self, *args: Any, compounds: QuerySet[Compound], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "compound").queryset = compounds.order_by("name", "pk")
        if self.instance.pk:  # its stops are checkpoints of that compound
            self.fields["compound"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_minutes"), data.get("max_minutes")
        if low is not None and high is not None and high < low:
            self.add_error("max_minutes", _("最长用时不能短于最短用时。"))
        return data


class StopForm(forms.Form):
    """One row of the route editor: which checkpoint, at which position, how long from the previous."""

    position = forms.IntegerField(label=_("顺序"), min_value=1, max_value=999, required=False)
    checkpoint = forms.ModelChoiceField(
        label=_("巡查点"),
        queryset=Checkpoint.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("所选巡查点不属于本路线所在小区。")},
    )
    expected_minutes = forms.IntegerField(
        label=_("距上一点（分钟）"),
        min_value=0,
        max_value=600,
        required=False,
        error_messages={"min_value": _("预计用时不能为负数。"), "max_value": _("预计用时不能超过 600 分钟。")},
    )
    remove = forms.BooleanField(label=_("移除"), required=False)

    def __init__(self, *args: Any, checkpoints: QuerySet[Checkpoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "checkpoint").queryset = checkpoints


class BaseStopFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, checkpoints: QuerySet[Checkpoint], **kwargs: Any) -> None:
        self.checkpoints = checkpoints
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"checkpoints": self.checkpoints}

    def clean(self) -> None:
        seen: dict[int, int] = {}
        for i, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None) or {}
            cp = data.get("checkpoint")
            if cp is None or data.get("remove"):
                continue
            if cp.pk in seen:
                form.add_error(
                    "checkpoint",
                    _("该巡查点已在第 %(row)d 行，同一巡查点在路线中只能出现一次。") % {"row": seen[cp.pk]},
                )
            else:
                seen[cp.pk] = i + 1

    def stops(self) -> list[tuple[int, int]]:
        """(checkpoint_id, expected_minutes) in the order of the position column (rows without a
        position keep their place after the numbered ones)."""
        rows = []
        for i, form in enumerate(self.forms):
            data = form.cleaned_data
            if data.get("checkpoint") is None or data.get("remove"):
                continue
            rows.append(
                (data.get("position") or 10_000 + i, i, data["checkpoint"].pk, data.get("expected_minutes") or 0)
            )
        rows.sort()
        return [(cp, minutes) for _p, _i, cp, minutes in rows]


StopFormSet = forms.formset_factory(StopForm, formset=BaseStopFormSet, extra=3, max_num=200, validate_max=True)


class WeekdaysField(forms.TypedMultipleChoiceField):
    widget = Checkboxes

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=c.Weekday.choices, coerce=int, **kwargs)


class PlanForm(GroupedForm, forms.ModelForm):
    GROUPS = (
        (_("计划"), ("route", "name", "start_times", "window_minutes", "weekdays", "valid_from", "valid_to", "active")),
        (_("由谁巡查（三选一）"), ("guard", "team", "duty_room")),
    )
    start_times = forms.CharField(
        label=_("开始时间"),
        help_text=_("每天的开始时间，用逗号分隔，如 08:00, 14:00, 20:30（北京时间；时间窗可跨午夜）"),
        error_messages={"required": _("请至少填写一个开始时间。")},
    )
    weekdays = WeekdaysField(label=_("星期"), required=False, help_text=_("不选表示每天"))

    class Meta:
        model = Plan
        fields = [
            "route",
            "name",
            "start_times",
            "window_minutes",
            "weekdays",
            "valid_from",
            "valid_to",
            "active",
            "guard",
            "team",
            "duty_room",
        ]
        field_classes = {"guard": PersonChoice}
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_to": forms.DateInput(attrs={"type": "date"}),
        }
        error_messages = {
            "name": {"required": _("请填写计划名称。")},
            "route": {"invalid_choice": _("所选路线不在您的管理范围内。"), "required": _("请选择路线。")},
            "valid_from": {"required": _("请填写生效日期。"), "invalid": _("日期格式应为 YYYY-MM-DD。")},
            "valid_to": {"invalid": _("日期格式应为 YYYY-MM-DD。")},
            "guard": {"invalid_choice": _("所选人员不是这些小区的保安或巡防队员。")},
            "team": {"invalid_choice": _("所选队伍不在您的管理范围内。")},
            "duty_room": {"invalid_choice": _("所选值班室不在您的管理范围内。")},
        }

    def __init__(self, *args: Any, compounds: QuerySet[Compound], teams: QuerySet[PatrolTeam], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "route").queryset = (
            Route.objects.filter(compound__in=compounds.values("pk"))
            .select_related("compound")
            .order_by("compound__name", "name")
        )
        model_choice(self, "guard").queryset = walkers_of(compounds)
        model_choice(self, "team").queryset = teams
        model_choice(self, "duty_room").queryset = DutyRoom.objects.filter(
            compound__in=compounds.values("pk")
        ).order_by("compound__name", "name")
        if self.instance.pk:
            self.initial["start_times"] = ", ".join(self.instance.start_times or [])

    def clean_start_times(self) -> list[str]:
        from .schedule import parse_start_times

        try:
            return parse_start_times(self.cleaned_data["start_times"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [n for n in ("guard", "team", "duty_room") if data.get(n)]
        if len(chosen) > 1:
            self.add_error(chosen[1], _("巡查人员、巡防队伍、值班室只能指定其中一项。"))
        return data


class TeamForm(GroupedForm, forms.ModelForm):
    """Art 6: a community's full-time patrol team, often covering several unmanaged compounds."""

    GROUPS = ((_("巡防队伍"), ("name", "organisation", "compounds", "members", "active", "note")),)

    class Meta:
        model = PatrolTeam
        fields = ["name", "organisation", "compounds", "members", "active", "note"]
        field_classes = {"members": PeopleChoice}
        widgets = {"compounds": Checkboxes, "members": Checkboxes}
        error_messages = {
            "name": {"required": _("请填写队伍名称。")},
            "organisation": {"invalid_choice": _("所选单位不在您的管理范围内。"), "required": _("请选择所属单位。")},
            "compounds": {"invalid_choice": _("所选小区不在您的管理范围内。")},
            "members": {"invalid_choice": _("所选人员不是这些小区的保安或巡防队员。")},
        }

    def __init__(
        self, *args: Any, compounds: QuerySet[Compound], organisations: QuerySet[Organisation], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "organisation").queryset = organisations.filter(
            kind__in=[OrgKind.PROPERTY_COMPANY, OrgKind.COMMUNITY]
        ).order_by("name")
        cast(forms.ModelMultipleChoiceField, self.fields["compounds"]).queryset = compounds.order_by("name", "pk")
        cast(forms.ModelMultipleChoiceField, self.fields["members"]).queryset = walkers_of(compounds)
        self.fields["compounds"].help_text = _("一支社区专职巡防队伍可负责多个无物业小区（第6条）。")
        self.fields["members"].help_text = _("只列出这些小区的保安、值班员和现有队员。")
