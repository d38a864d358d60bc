"""Housekeeping the scheduler runs (`manage.py events_maintain`): partitions ahead, expired dedup
keys, and a replay of anything spooled while the database was down."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from anfang.core.partitions import TABLES

from .models import EventKey
from .writer import replay_spool


@dataclass
class MaintenanceReport:
    partitions_created: list[dt.date]
    keys_expired: int
    spool_batches: int


def maintain(now: dt.datetime | None = None) -> MaintenanceReport:
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    created = []
    for table in TABLES.values():  # every daily-partitioned table (events, passages, check-ins)
        if table.is_partitioned():
            created += table.ensure(settings.ANFANG_EVENT_PARTITIONS_AHEAD, today)
    cutoff = now - dt.timedelta(hours=settings.ANFANG_DEDUP_WINDOW_HOURS)
    expired, _ = EventKey.objects.filter(received_at__lt=cutoff).delete()
    return MaintenanceReport(created, expired, replay_spool())
