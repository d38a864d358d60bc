"""24-hour coverage (Art 16): for one duty room and one local day, which minutes had nobody on
duty. Pure interval arithmetic over sign-on/sign-off sessions, so it is tested on its own.

Days are Asia/Shanghai calendar days (UTC+8 all year: no DST, so every day is 24 h); a session
running over midnight counts for both days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")

Interval = tuple[dt.datetime, dt.datetime]


def day_bounds(day: dt.date) -> Interval:
    start = dt.datetime.combine(day, dt.time(), LOCAL)
    return start, start + dt.timedelta(days=1)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals, sorted and non-overlapping (touching intervals join)."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def gaps(window: Interval, covered: Iterable[Interval]) -> list[Interval]:
    """The parts of `window` no interval covers."""
    start, end = window
    holes: list[Interval] = []
    cursor = start
    for a, b in merge((max(a, start), min(b, end)) for a, b in covered):
        if a > cursor:
            holes.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        holes.append((cursor, end))
    return holes


@dataclass(frozen=True)
class DayCoverage:
    day: dt.date
    staffed: list[Interval]
    gaps: list[Interval]
    until: dt.datetime

    @property
    def unstaffed_minutes(self) -> int:
        return round(sum((b - a).total_seconds() for a, b in self.gaps) / 60)

    @property
    def staffed_ratio(self) -> float:
        total = (self.until - day_bounds(self.day)[0]).total_seconds()
        return 1.0 if total <= 0 else 1 - sum((b - a).total_seconds() for a, b in self.gaps) / total


def day_coverage(
    day: dt.date, sessions: Iterable[tuple[dt.datetime, dt.datetime | None]], now: dt.datetime
) -> DayCoverage:
    """Coverage of `day` by sessions (open sessions run until `now`); a day still in progress is
    judged only up to `now`."""
    start, end = day_bounds(day)
    until = min(end, max(start, now))
    covered = [(a, b or now) for a, b in sessions]
    window = (start, until)
    return DayCoverage(day, merge((max(a, start), min(b, until)) for a, b in covered), gaps(window, covered), until)
