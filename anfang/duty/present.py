"""A daily record laid out for people: labels, percentages, parsed times and bar geometry. Shared by
the record page and its PDF so both say exactly the same."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.alarms.choices import CloseCause, ReportMeans
from anfang.core.choices import choice_label
from anfang.devices.choices import DeviceStatus, DeviceType
from anfang.events.choices import EventKind

from .coverage import LOCAL
from .models import DailyRecord
from .records import OPEN
from .timeline import Block, blocks, future_block

# Outcome order and colour: what a reader looks for first.
OUTCOMES = (
    (CloseCause.REAL_INCIDENT, "real"),
    (OPEN, "open"),
    (CloseCause.FALSE_ALARM, "false"),
    (CloseCause.DEVICE_FAULT, "fault"),
    (CloseCause.TEST, "test"),
)


def _time(raw: str | None) -> dt.datetime | None:
    return timezone.localtime(dt.datetime.fromisoformat(raw), LOCAL) if raw else None


@dataclass
class Count:
    key: str
    label: str
    n: int
    share: float  # of the total, 0–1
    css: str = ""
    bar: float = 0.0  # percent of the largest count (bar length)


@dataclass
class SilentDevice:
    id: int
    name: str
    type_label: str
    status: str
    status_label: str
    last_seen_at: dt.datetime | None


@dataclass
class Report:
    alarm: int
    kind_label: str
    raised_at: dt.datetime | None
    reported_at: dt.datetime | None
    means_label: str
    number: str
    officer: str

    @property
    def seconds_to_report(self) -> float | None:
        if self.raised_at and self.reported_at:
            return (self.reported_at - self.raised_at).total_seconds()
        return None


@dataclass
class RecordView:
    record: DailyRecord
    stored: bool  # kept in the database (else computed for this page only)
    kinds: list[Count] = field(default_factory=list)
    outcomes: list[Count] = field(default_factory=list)
    silent: list[SilentDevice] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    gaps: list[Block] = field(default_factory=list)
    kept: DailyRecord | None = None  # shown next to live figures: the provisional record last kept

    @property
    def online_percent(self) -> float | None:
        share = self.record.online_share
        return None if share is None else 100 * share

    @property
    def silent_count(self) -> int:
        return self.record.devices_in_service - self.record.devices_heard

    @property
    def silent_unlisted(self) -> int:
        return self.silent_count - len(self.silent)

    @property
    def day_over(self) -> bool:
        return self.record.final

    @property
    def online_css(self) -> str:
        pct = self.online_percent
        return "" if pct is None else "ok" if pct >= 99.5 else "warn" if pct >= 90 else "bad"

    @property
    def unstaffed_css(self) -> str:
        minutes = self.record.unstaffed_minutes
        return "bad" if minutes is None else "ok" if minutes == 0 else "bad"


def present(record: DailyRecord, *, stored: bool) -> RecordView:
    total = record.alarms_raised or 1
    largest = max(record.alarms_by_kind.values(), default=0) or 1
    kinds = [
        Count(k, choice_label(EventKind, k), n, n / total, bar=100 * n / largest)
        for k, n in sorted(record.alarms_by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    outcome_labels: dict[str, Any] = {OPEN: _("未关闭"), **dict(CloseCause.choices)}
    outcomes = [
        Count(key, str(outcome_labels[key]), record.alarms_by_outcome.get(key, 0), 0, css)
        for key, css in OUTCOMES
        if record.alarms_by_outcome.get(key)
    ]
    for o in outcomes:
        o.share = o.n / total
    silent = [
        SilentDevice(
            d["id"],
            d["name"],
            choice_label(DeviceType, d.get("type")),
            d.get("status", ""),
            choice_label(DeviceStatus, d.get("status")),
            _time(d.get("last_seen_at")),
        )
        for d in record.silent_devices
    ]
    reports = [
        Report(
            r["alarm"],
            choice_label(EventKind, r.get("kind")),
            _time(r.get("raised_at")),
            _time(r.get("reported_at")),
            choice_label(ReportMeans, r.get("means")),
            r.get("number", ""),
            r.get("officer", ""),
        )
        for r in record.police_reports
    ]
    spans = [(dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)) for a, b in record.unstaffed_gaps]
    gaps = blocks(record.day, spans, css="gap")
    if record.unstaffed_minutes is not None:
        gaps += future_block(record.day, record.judged_until)
    return RecordView(record, stored, kinds, outcomes, silent, reports, gaps)
