"""Housekeeping the scheduler runs (`manage.py events_maintain`): partitions ahead, expired dedup
keys, and a replay of anything spooled while the database was down."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from . import partitions
from .models import EventKey
from .writer import replay_spool


@dataclass
class MaintenanceReport:
    partitions_created: list[dt.date]
    keys_expired: int
    spool_batches: int


def maintain(now: dt.datetime | None = None) -> MaintenanceReport:
    now = now or timezone.now()
    created = (
        partitions.ensure_partitions(settings.ANFANG_EVENT_PARTITIONS_AHEAD, now.astimezone(dt.UTC).date())
        if partitions.is_partitioned()
        else []
    )
    cutoff = now - dt.timedelta(hours=settings.ANFANG_DEDUP_WINDOW_HOURS)
    expired, _ = EventKey.objects.filter(received_at__lt=cutoff).delete()
    return MaintenanceReport(created, expired, replay_spool())
