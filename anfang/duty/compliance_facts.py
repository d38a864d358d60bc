"""What the duty module tells the compliance engine (issue 6 §4): the facts the rules of Art 16
(24小时有人值班, 完整记载值班记录) and Art 33(1) (24小时不间断运行, 有效记录监控运行信息) judge,
read in bulk for any number of compounds (a fixed number of queries) from the daily operating
records and the duty log of the last WINDOW_DAYS complete days.

A compound with no daily record in the window is left out, so its rules stay `unknown` (no data
is not a pass)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models.functions import TruncDate
from django.utils import timezone

from .coverage import LOCAL, day_bounds
from .models import DailyRecord, LogEntry

WINDOW_DAYS = 7


def window(today: dt.date | None = None) -> list[dt.date]:
    today = today or timezone.localtime(timezone.now(), LOCAL).date()
    return [today - dt.timedelta(days=n) for n in range(WINDOW_DAYS, 0, -1)]


def _records(compound_ids: list[int], days: list[dt.date]) -> dict[int, dict[dt.date, tuple]]:
    records: dict[int, dict[dt.date, tuple]] = defaultdict(dict)
    for row in DailyRecord.objects.filter(compound_id__in=compound_ids, day__in=days).values_list(
        "compound_id", "day", "duty_rooms", "unstaffed_minutes", "devices_in_service", "devices_heard"
    ):
        records[row[0]][row[1]] = row[2:]
    return records


def duty_facts(compound_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Art 16 — {"staffed_24h", "gaps", "log_complete", "log_gaps"} (selectors.duty)."""
    days = window()
    records = _records(compound_ids, days)
    start, end = day_bounds(days[0])[0], day_bounds(days[-1])[1]
    logged: dict[int, set[dt.date]] = defaultdict(set)
    for compound_id, day in (
        LogEntry.objects.filter(duty_room__compound_id__in=compound_ids, at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at", tzinfo=LOCAL))
        .values_list("duty_room__compound_id", "day")
        .distinct()
    ):
        logged[compound_id].add(day)
    facts = {}
    for compound_id, by_day in records.items():
        gaps = []
        for day in days:
            rec = by_day.get(day)
            if rec is None:
                gaps.append(f"{day:%m-%d}：无运行记录，值班情况不明")
            elif not rec[0]:
                gaps.append(f"{day:%m-%d}：未登记值班室")
            elif rec[1]:
                gaps.append(f"{day:%m-%d}：无人值班 {rec[1]} 分钟")
        log_gaps = [f"{day:%m-%d}：无值班记录" for day in days if day not in logged[compound_id]]
        facts[compound_id] = {
            "staffed_24h": not gaps,
            "gaps": gaps,
            "log_complete": not log_gaps,
            "log_gaps": log_gaps,
        }
    return facts


def operation_facts(compound_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Art 33(1) — {"continuous", "outages", "recorded"} (selectors.operation)."""
    days = window()
    facts = {}
    for compound_id, by_day in _records(compound_ids, days).items():
        outages = [
            f"{day:%m-%d}：{rec[2] - rec[3]} 台在用设备全天无通信"
            for day in days
            if (rec := by_day.get(day)) is not None and rec[3] < rec[2]
        ]
        missing = [day for day in days if day not in by_day]
        facts[compound_id] = {
            "continuous": not outages,
            "outages": outages + [f"{day:%m-%d}：无运行记录" for day in missing],
            "recorded": not missing,
        }
    return facts
