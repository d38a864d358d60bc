"""Geometry of the 24-hour bars drawn on the duty pages (roster, coverage): where a stretch of time
starts and how wide it is, in percent of a local day. Pure functions; the templates only draw."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from .coverage import LOCAL, Interval, day_bounds, gaps

DAY_SECONDS = 86_400.0
HOUR_TICKS = tuple((hour, f"{100 * hour / 24:.3f}") for hour in (0, 3, 6, 9, 12, 15, 18, 21, 24))


@dataclass(frozen=True)
class Block:
    left: float  # percent of the day
    width: float
    start: dt.datetime
    end: dt.datetime
    label: str = ""
    css: str = ""
    item: Any = None

    @property
    def minutes(self) -> int:
        return round((self.end - self.start).total_seconds() / 60)

    @property
    def local_start(self) -> dt.datetime:
        return timezone.localtime(self.start, LOCAL)

    @property
    def local_end(self) -> dt.datetime:
        return timezone.localtime(self.end, LOCAL)

    @property
    def runs_to_midnight(self) -> bool:
        """The stretch ends at the day's end (shown as 24:00, not 00:00)."""
        return self.local_end.time() == dt.time() and self.end > self.start


def blocks(
    day: dt.date, intervals: Iterable[tuple[dt.datetime, dt.datetime]], *, label: Any = None, css: str = "", items=None
) -> list[Block]:
    """The parts of `intervals` inside `day`, placed on a 0–100 % scale. `label` maps an item to
    its text; `items` (same order as intervals) are kept on the blocks for the template."""
    start, end = day_bounds(day)
    out = []
    for i, (a, b) in enumerate(intervals):
        a, b = max(a, start), min(b, end)
        if b <= a:
            continue
        item = items[i] if items is not None else None
        out.append(
            Block(
                left=round(100 * (a - start).total_seconds() / DAY_SECONDS, 3),
                width=round(100 * (b - a).total_seconds() / DAY_SECONDS, 3),
                start=a,
                end=b,
                label=label(item) if label and item is not None else "",
                css=css,
                item=item,
            )
        )
    return out


def future_block(day: dt.date, until: dt.datetime) -> list[Block]:
    """The rest of a day still to come (not judged yet)."""
    start, end = day_bounds(day)
    return blocks(day, [(max(start, until), end)], css="future") if until < end else []


def uncovered(day: dt.date, covered: Iterable[Interval]) -> list[Interval]:
    """The parts of the whole day no interval covers (planned-roster holes)."""
    return gaps(day_bounds(day), covered)
