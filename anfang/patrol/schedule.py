"""Plan schedules → patrol windows. Pure functions: start times are local (Asia/Shanghai) times of
day, windows are returned in UTC and may run past local midnight."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

LOCAL = ZoneInfo("Asia/Shanghai")
_TIME = re.compile(r"^\s*([01]?\d|2[0-3])[:：]([0-5]\d)\s*$")


def parse_start_times(value: object) -> list[str]:
    """Normalise a list (or a comma/space separated string) of HH:MM times; sorted, unique.
    Raises ValueError naming the bad entry."""
    if isinstance(value, str):
        items: Iterable[object] = [v for v in re.split(r"[,，\s]+", value) if v]
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise ValueError(_("开始时间须为 HH:MM 列表。"))
    times = set()
    for item in items:
        match = _TIME.match(str(item))
        if not match:
            raise ValueError(_("开始时间“%(value)s”不是 HH:MM 格式。") % {"value": item})
        times.add(f"{int(match.group(1)):02d}:{match.group(2)}")
    if not times:
        raise ValueError(_("请至少填写一个开始时间。"))
    return sorted(times)


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL).date()


def windows_for_day(
    day: dt.date, start_times: Iterable[str], window_minutes: int, weekdays: Iterable[int] = ()
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """(start, end) in UTC of the windows starting on local `day`; none if `day` is not one of
    `weekdays` (empty = every day)."""
    wanted = set(weekdays)
    if wanted and day.weekday() not in wanted:
        return
    for text in start_times:
        hour, minute = (int(p) for p in text.split(":"))
        start = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL).astimezone(dt.UTC)
        yield start, start + dt.timedelta(minutes=window_minutes)
