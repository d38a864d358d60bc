"""Filter bars of the patrol lists, the report and the calendar. Each form is bound to the query
string; a value that does not parse (or names a compound outside the user's scope) is shown as an
error on its field and left out of the filter, never widening what the user sees."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound

from . import choices as c
from .forms import CompoundChoice, PersonChoice
from .models import Checkpoint, PatrolRun, PatrolTeam, Route
from .schedule import LOCAL


def local_today() -> dt.date:
    return timezone.now().astimezone(LOCAL).date()


class FilterForm(forms.Form):
    def value(self, name: str) -> Any:
        """The cleaned value of one field, or None when it is empty or did not parse."""
        if not self.is_bound:
            return self.initial.get(name)
        self.is_valid()
        if name in self.errors:
            return None
        return self.cleaned_data.get(name) or None

    def limit(self, name: str, qs: QuerySet) -> None:
        cast(forms.ModelChoiceField, self.fields[name]).queryset = qs


class CheckpointFilter(FilterForm):
    q = forms.CharField(
        label=_("搜索"), required=False, widget=forms.TextInput(attrs={"placeholder": _("名称、位置或标识码")})
    )
    compound = CompoundChoice(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全部小区")
    )
    tag_kind = forms.ChoiceField(
        label=_("标识类型"), choices=[("", _("全部")), *list(c.TagKind.choices)], required=False
    )
    active = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部")), ("1", _("启用")), ("0", _("停用"))], required=False
    )

    def __init__(self, *args: Any, compounds: QuerySet[Compound], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit("compound", compounds.order_by("name", "pk"))

    def apply(self, qs: QuerySet[Checkpoint]) -> QuerySet[Checkpoint]:
        if q := self.value("q"):
            qs = qs.filter(Q(name__icontains=q) | Q(location__icontains=q) | Q(code__icontains=q.strip()))
        if compound := self.value("compound"):
            qs = qs.filter(compound=compound)
        if kind := self.value("tag_kind"):
            qs = qs.filter(tag_kind=kind)
        if (active := self.value("active")) is not None:
            qs = qs.filter(active=active == "1")
        return qs


class CompoundOnlyFilter(FilterForm):
    q = forms.CharField(label=_("搜索"), required=False)
    compound = CompoundChoice(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全部小区")
    )

    def __init__(self, *args: Any, compounds: QuerySet[Compound], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit("compound", compounds.order_by("name", "pk"))


class RunFilter(FilterForm):
    compound = CompoundChoice(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全部小区")
    )
    route = forms.ModelChoiceField(
        label=_("路线"), queryset=Route.objects.none(), required=False, empty_label=_("全部路线")
    )
    guard = PersonChoice(
        label=_("巡查人员"), queryset=get_user_model().objects.none(), required=False, empty_label=_("全部人员")
    )
    status = forms.ChoiceField(label=_("结果"), choices=[("", _("全部")), *list(c.RunStatus.choices)], required=False)
    flagged = forms.ChoiceField(
        label=_("异常标记"),
        choices=[
            ("", _("全部")),
            ("missed", _("有漏检")),
            ("order", _("顺序错误")),
            ("fast", _("过快")),
            ("late", _("提前/超时")),
        ],
        required=False,
    )
    since = forms.DateField(label=_("从"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, compounds: QuerySet[Compound], guards: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit("compound", compounds.order_by("name", "pk"))
        self.limit(
            "route", Route.objects.filter(compound__in=compounds.values("pk")).order_by("compound__name", "name")
        )
        self.limit("guard", guards)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("结束日期不能早于开始日期。"))
        return data

    def apply(self, qs: QuerySet[PatrolRun]) -> QuerySet[PatrolRun]:
        for name in ("compound", "route", "guard", "status"):
            if value := self.value(name):
                qs = qs.filter(**{name: value})
        if since := self.value("since"):
            qs = qs.filter(day__gte=since)
        if until := self.value("until"):
            qs = qs.filter(day__lte=until)
        flagged = self.value("flagged")
        if flagged == "missed":
            qs = qs.filter(status__in=c.CLOSED_STATUSES).exclude(completed_count=F("expected_count"))
        elif flagged == "order":
            qs = qs.filter(out_of_order__gt=0)
        elif flagged == "fast":
            qs = qs.exclude(too_fast_legs=[]).exclude(too_fast_legs__isnull=True)
        elif flagged == "late":
            qs = qs.filter(punctuality__in=[c.Punctuality.EARLY, c.Punctuality.LATE, c.Punctuality.EARLY_LATE])
        return qs


DIMENSIONS = (
    ("guard", _("巡查人员")),
    ("route", _("路线")),
    ("team", _("巡防队伍")),
    ("compound", _("小区")),
)
PERIODS = (("month", _("按月")), ("day", _("按日")))


class ReportForm(FilterForm):
    """Which report: grouped by guard / route / team / compound, per day or per month, over a span
    of local dates (default: this month so far)."""

    by = forms.ChoiceField(label=_("统计维度"), choices=DIMENSIONS, required=False)
    period = forms.ChoiceField(label=_("周期"), choices=PERIODS, required=False)
    since = forms.DateField(label=_("从"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    compound = CompoundChoice(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全部小区")
    )

    MAX_DAYS = 400  # a report over more than a year is an export job, not a page

    def __init__(self, *args: Any, compounds: QuerySet[Compound], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit("compound", compounds.order_by("name", "pk"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until:
            if until < since:
                self.add_error("until", _("结束日期不能早于开始日期。"))
            elif (until - since).days > self.MAX_DAYS:
                self.add_error("until", _("统计区间最长 400 天。"))
        return data

    def span(self) -> tuple[dt.date, dt.date]:
        today = local_today()
        until = self.value("until") or today
        since = self.value("since") or until.replace(day=1)
        if since > until or (until - since).days > self.MAX_DAYS:
            since, until = today.replace(day=1), today
        return since, until

    @property
    def dimension(self) -> str:
        return self.value("by") or "guard"

    @property
    def bucket(self) -> str:
        return self.value("period") or "month"


class CalendarForm(FilterForm):
    month = forms.CharField(label=_("月份"), required=False, widget=forms.TextInput(attrs={"type": "month"}))
    compound = CompoundChoice(
        label=_("小区"), queryset=Compound.objects.none(), required=False, empty_label=_("全部小区")
    )
    route = forms.ModelChoiceField(
        label=_("路线"), queryset=Route.objects.none(), required=False, empty_label=_("全部路线")
    )
    team = forms.ModelChoiceField(
        label=_("巡防队伍"), queryset=PatrolTeam.objects.none(), required=False, empty_label=_("全部队伍")
    )

    def __init__(self, *args: Any, compounds: QuerySet[Compound], teams: QuerySet[PatrolTeam], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit("compound", compounds.order_by("name", "pk"))
        self.limit(
            "route", Route.objects.filter(compound__in=compounds.values("pk")).order_by("compound__name", "name")
        )
        self.limit("team", teams)

    def clean_month(self) -> dt.date | None:
        text = (self.cleaned_data.get("month") or "").strip()
        if not text:
            return None
        try:
            return dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError as exc:
            raise forms.ValidationError(_("月份格式应为 YYYY-MM。")) from exc

    def first_day(self) -> dt.date:
        return self.value("month") or local_today().replace(day=1)

    def apply(self, qs: QuerySet[PatrolRun]) -> QuerySet[PatrolRun]:
        for name in ("compound", "route", "team"):
            if value := self.value(name):
                qs = qs.filter(**{name: value})
        return qs
