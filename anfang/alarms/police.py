"""The police view of alarms (Art 16: 明确警情后及时向公安机关报警; Art 34: police supervise the
compounds of their jurisdiction): alarms reported to the police, how fast compounds acknowledge,
close and report their alarms, and which compounds are slow or leave alarms unacknowledged.

Scope: the compounds covered by the user's police grants (city bureau → district → station) or
everything for a platform admin; nobody else sees this view. All figures are grouped and
computed in the database (a fixed number of queries per page, whatever the number of alarms).

Definitions: an alarm counts in the period when it was raised in it (local days, inclusive).
Late or replayed alarms (stale) are counted but left out of the times and of slow / missing
acknowledgements: nobody was asked to act on them when they happened. An acknowledgement is
slow when it came more than N minutes after the alarm was raised; missing when the alarm is still
unacknowledged N minutes after it was raised."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.db.models import Count, F, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound
from anfang.core.choices import OrgKind, Role
from anfang.core.grants import has_role
from anfang.core.models import Organisation
from anfang.duty.coverage import LOCAL, day_bounds

from . import choices as c
from .models import Alarm, PoliceReport
from .timing import Percentile, Seconds

POLICE_ROLES = frozenset({Role.POLICE_CITY, Role.POLICE_DISTRICT, Role.POLICE_STATION, Role.PLATFORM_ADMIN})
DEFAULT_DAYS = 30
MAX_DAYS = 366
DEFAULT_ACK_MINUTES = 5


def can_view(user: Any) -> bool:
    return has_role(user, POLICE_ROLES)


def jurisdiction(user: Any) -> QuerySet[Compound]:
    """The compounds the user's police grants cover (all of them for a platform admin)."""
    return Compound.objects.in_scope_of_roles(user, POLICE_ROLES)


def stations_of(compounds: QuerySet[Compound]) -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrgKind.POLICE_STATION, pk__in=compounds.values("police_station_id"))


# --- filters ---------------------------------------------------------------------------------------


class PoliceFilterForm(forms.Form):
    start = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    station = forms.ModelChoiceField(
        label=_("派出所"), required=False, queryset=Organisation.objects.none(), empty_label=_("全部")
    )
    kind = forms.ChoiceField(label=_("报警类型"), required=False)
    ack_minutes = forms.IntegerField(
        label=_("确认超时（分钟）"), required=False, min_value=1, max_value=24 * 60, initial=DEFAULT_ACK_MINUTES
    )

    def __init__(self, *args: Any, compounds: QuerySet[Compound], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["station"]).queryset = stations_of(compounds).order_by("name")
        cast(forms.ChoiceField, self.fields["kind"]).choices = [
            ("", _("全部")),
            *((k, label) for k, label in c.AlarmKind.choices if k in c.DEFAULT_RULES),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("截止日期不能早于起始日期。"))
        elif start and end and (end - start).days >= MAX_DAYS:
            self.add_error("end", _("统计期间不能超过 %(n)d 天。") % {"n": MAX_DAYS})
        return data

    def filters(self, today: dt.date) -> Filters:
        """The valid filters; an invalid one falls back to its default (the bar says which)."""
        self.is_valid()
        data = self.cleaned_data
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if "end" in self.errors:
            start, end = today - dt.timedelta(days=DEFAULT_DAYS - 1), today
        return Filters(
            start=start,
            end=end,
            station_id=data["station"].pk if data.get("station") else None,
            kind=data.get("kind") or "",
            ack_minutes=data.get("ack_minutes") or DEFAULT_ACK_MINUTES,
        )


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # inclusive
    station_id: int | None = None
    kind: str = ""
    ack_minutes: int = DEFAULT_ACK_MINUTES

    @property
    def window(self) -> tuple[dt.datetime, dt.datetime]:
        return day_bounds(self.start)[0], day_bounds(self.end)[1]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def query(self) -> dict[str, str]:
        q = {"start": self.start.isoformat(), "end": self.end.isoformat(), "ack_minutes": str(self.ack_minutes)}
        if self.station_id:
            q["station"] = str(self.station_id)
        if self.kind:
            q["kind"] = self.kind
        return q


def default_filters(now: dt.datetime | None = None) -> Filters:
    today = timezone.localtime(now or timezone.now(), LOCAL).date()
    return Filters(today - dt.timedelta(days=DEFAULT_DAYS - 1), today)


# --- figures ---------------------------------------------------------------------------------------


def alarms_in(compounds: QuerySet[Compound], f: Filters) -> QuerySet[Alarm]:
    start, end = f.window
    qs = Alarm.objects.filter(compound__in=compounds.values("pk"), raised_at__gte=start, raised_at__lt=end)
    if f.station_id:
        qs = qs.filter(compound__police_station_id=f.station_id)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    return qs


def reports_in(compounds: QuerySet[Compound], f: Filters) -> QuerySet[PoliceReport]:
    """Reports of the period's alarms, newest first."""
    return (
        PoliceReport.objects.filter(alarm__in=alarms_in(compounds, f).values("pk"))
        .select_related("alarm", "alarm__compound", "alarm__compound__police_station", "reported_by")
        .order_by("-reported_at", "-pk")
    )


def stat_expressions(ack_minutes: int, now: dt.datetime) -> dict[str, Any]:
    limit = dt.timedelta(minutes=ack_minutes)
    timed = Q(stale=False)
    to_ack = Seconds("acknowledged_at", "raised_at")
    to_close = Seconds("closed_at", "raised_at")
    to_report = Seconds("police_report__reported_at", "raised_at")
    return {
        "n_alarms": Count("pk"),
        "n_stale": Count("pk", filter=Q(stale=True)),
        "n_acknowledged": Count("pk", filter=Q(acknowledged_at__isnull=False)),
        "n_closed": Count("pk", filter=Q(closed_at__isnull=False)),
        "n_real": Count("pk", filter=Q(close_cause=c.CloseCause.REAL_INCIDENT)),
        "n_reported": Count("police_report"),
        "ack_median": Percentile(to_ack, 0.5, filter=timed),
        "ack_p90": Percentile(to_ack, 0.9, filter=timed),
        "close_median": Percentile(to_close, 0.5, filter=timed),
        "close_p90": Percentile(to_close, 0.9, filter=timed),
        "report_median": Percentile(to_report, 0.5),
        "report_p90": Percentile(to_report, 0.9),
        "n_slow": Count("pk", filter=timed & Q(acknowledged_at__gt=F("raised_at") + limit)),
        "n_missing": Count("pk", filter=timed & Q(acknowledged_at__isnull=True, raised_at__lt=now - limit)),
        "oldest_unacknowledged": Min("raised_at", filter=timed & Q(acknowledged_at__isnull=True)),
    }


@dataclass
class Stats:
    """Figures of one group (all, a station, a compound)."""

    n_alarms: int = 0
    n_stale: int = 0
    n_acknowledged: int = 0
    n_closed: int = 0
    n_real: int = 0
    n_reported: int = 0
    ack_median: float | None = None
    ack_p90: float | None = None
    close_median: float | None = None
    close_p90: float | None = None
    report_median: float | None = None
    report_p90: float | None = None
    n_slow: int = 0
    n_missing: int = 0
    oldest_unacknowledged: dt.datetime | None = None
    id: int | None = None
    name: str = ""
    station_name: str = ""

    @property
    def n_late(self) -> int:
        return self.n_slow + self.n_missing

    @property
    def late_share(self) -> float | None:
        timed = self.n_alarms - self.n_stale
        return self.n_late / timed if timed else None


def _stats(row: Any, **names: str) -> Stats:
    """A grouped row as Stats; `names` maps Stats fields to the row's group columns."""
    values = dict(row)
    return Stats(**{field: values.pop(column) for field, column in names.items()}, **values)


def overall(compounds: QuerySet[Compound], f: Filters, now: dt.datetime) -> Stats:
    return Stats(**alarms_in(compounds, f).aggregate(**stat_expressions(f.ack_minutes, now)))


def by_station(compounds: QuerySet[Compound], f: Filters, now: dt.datetime) -> list[Stats]:
    rows = (
        alarms_in(compounds, f)
        .values("compound__police_station_id", "compound__police_station__name")
        .annotate(**stat_expressions(f.ack_minutes, now))
        .order_by("compound__police_station__name")
    )
    return [_stats(row, id="compound__police_station_id", name="compound__police_station__name") for row in rows]


def by_compound(compounds: QuerySet[Compound], f: Filters, now: dt.datetime) -> list[Stats]:
    """Per compound with alarms in the period: the late ones (missing, then slow) first."""
    rows = (
        alarms_in(compounds, f)
        .values("compound_id", "compound__name", "compound__police_station__name")
        .annotate(**stat_expressions(f.ack_minutes, now))
        .order_by("compound__name")
    )
    stats = [
        _stats(row, id="compound_id", name="compound__name", station_name="compound__police_station__name")
        for row in rows
    ]
    stats.sort(key=lambda s: (-s.n_missing, -s.n_slow, -(s.ack_p90 or 0), s.name))
    return stats


def slow_compounds(rows: list[Stats]) -> list[Stats]:
    return [s for s in rows if s.n_late]
