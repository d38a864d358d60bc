"""What retention tells the compliance engine for Art 33(2) (selectors.retention): for each
compound, in a fixed number of queries whatever the number of compounds,

- `video_days`: the fewest days of recording any of its recorder channels holds, from the reports
  of the last REPORT_WINDOW days (the latest report per channel); None without a recent report;
- `vehicle_days`: how long its vehicle data is kept — the retention the purge enforces for its
  passages (its override, else the global policy; never below the floor) — once it has vehicle
  data; None without any passage. `vehicle_oldest_days` (the age of its oldest passage) is given
  as evidence.

A compound with neither is left out, so the rule stays `unknown` (no data is not a pass)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from anfang.compounds.models import Compound

from .choices import DataClass
from .models import RetentionPolicy, VideoRetentionReport
from .registry import CLASSES

REPORT_WINDOW = dt.timedelta(days=7)


def _video_days(compound_ids: list[int], now: dt.datetime) -> dict[int, int]:
    latest: dict[tuple[int, int], tuple[dt.datetime, int | None]] = {}
    rows = VideoRetentionReport.objects.filter(
        compound_id__in=compound_ids, reported_at__gte=now - REPORT_WINDOW
    ).values_list("compound_id", "device_id", "channel", "reported_at", "days")
    for compound_id, device_id, channel, at, days in rows:
        key = (compound_id, device_id * 1000 + channel)
        if key not in latest or at > latest[key][0]:
            latest[key] = (at, days)
    out: dict[int, int] = {}
    for (compound_id, _channel), (_at, days) in latest.items():
        value = days or 0  # a channel reporting no recording at all holds 0 days
        out[compound_id] = min(out.get(compound_id, value), value)
    return out


def _vehicle_days(compound_ids: list[int], now: dt.datetime) -> dict[int, tuple[int, int]]:
    spec = CLASSES[DataClass.VEHICLE_PASSAGES]
    model = spec.model()
    if model is None:
        return {}
    # Per compound, its first passage through the (compound, received_at) index: one query, an
    # index probe per compound, never a scan of all passages.
    first = model._base_manager.filter(compound_id=OuterRef("pk")).order_by(spec.time_field).values(spec.time_field)[:1]
    oldest = dict(
        Compound.objects.filter(pk__in=compound_ids)
        .annotate(first=Subquery(first))
        .filter(first__isnull=False)
        .values_list("pk", "first")
    )
    policies: dict[int | None, int] = dict(
        RetentionPolicy.objects.filter(data_class=spec.key).values_list("compound_id", "days")
    )
    default = policies.get(None, spec.default_days)
    return {cid: (policies.get(cid, default), max(0, (now - first).days)) for cid, first in oldest.items() if first}


def retention_facts(compound_ids: list[int]) -> dict[int, dict[str, Any]]:
    now = timezone.now()
    video = _video_days(compound_ids, now)
    vehicle = _vehicle_days(compound_ids, now)
    facts: dict[int, dict[str, Any]] = {}
    for cid in set(video) | set(vehicle):
        kept = vehicle.get(cid)
        facts[cid] = {
            "video_days": video.get(cid),
            "vehicle_days": kept[0] if kept else None,
            "vehicle_oldest_days": kept[1] if kept else None,
        }
    return facts
