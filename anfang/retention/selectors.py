"""Scoped reads of the retention pages and API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from anfang.compounds.models import Compound
from anfang.core.grants import is_platform_admin

from .models import LegalHold, RetentionPolicy, VideoRetentionReport
from .purge import oldest
from .registry import CLASSES, PURGE_ORDER, Spec
from .services import global_days

VIDEO_FLOOR = CLASSES["video_index"].floor_days
SHOWN = dt.timedelta(days=30)  # reports older than this are not shown (a recorder that stopped reporting)


def policy_row(data_class: str, compound_id: int | None, days: int) -> dict[str, Any]:
    spec = CLASSES[data_class]
    return {
        "data_class": data_class,
        "label": spec.label,
        "compound_id": compound_id,
        "days": days,
        "floor_days": spec.floor_days,
        "article": spec.article,
        "basis": str(spec.basis),
    }


def overrides_visible(user: Any) -> QuerySet[RetentionPolicy]:
    return (
        RetentionPolicy.objects.filter(compound__in=Compound.objects.visible_to(user).values("pk"))
        .select_related("compound", "updated_by")
        .order_by("compound__name", "data_class")
    )


def policy_rows(user: Any) -> list[dict[str, Any]]:
    days = global_days()
    rows = [policy_row(key, None, days[key]) for key in PURGE_ORDER]
    rows += [policy_row(p.data_class, p.compound_id, p.days) for p in overrides_visible(user)]
    return rows


@dataclass(frozen=True)
class ClassRow:
    spec: Spec
    days: int
    is_default: bool
    oldest: dt.datetime | None
    installed: bool

    @property
    def oldest_days(self) -> int | None:
        return None if self.oldest is None else (timezone.now() - self.oldest).days


def class_rows() -> list[ClassRow]:
    """Each data class with its floor, setting and the oldest data still kept (one query per class)."""
    set_globally = set(RetentionPolicy.objects.filter(compound=None).values_list("data_class", flat=True))
    days = global_days()
    return [
        ClassRow(
            CLASSES[key], days[key], key not in set_globally, oldest(CLASSES[key]), CLASSES[key].model() is not None
        )
        for key in PURGE_ORDER
    ]


def holds_visible(user: Any) -> QuerySet[LegalHold]:
    """Platform admin: all holds. Police and the compound's managers: holds on the compounds where
    they may place holds, and their own. Others (operators, guards): none — a hold names a case."""
    from .services import HOLD_ROLES

    qs = LegalHold.objects.select_related("compound", "device", "owner", "released_by")
    if is_platform_admin(user):
        return qs
    scope = Compound.objects.in_scope_of_roles(user, HOLD_ROLES).values("pk")
    return qs.filter(Q(compound__in=scope) | Q(owner=user))


@dataclass(frozen=True)
class CameraRow:
    report: VideoRetentionReport
    floor: int

    @property
    def ok(self) -> bool | None:
        return None if self.report.days is None else self.report.days >= self.floor

    @property
    def stale(self) -> bool:
        return self.report.reported_at < timezone.now() - dt.timedelta(days=7)


def video_rows(user: Any, compound: Compound | None = None) -> list[CameraRow]:
    """The latest report per recorder channel in the compounds the user sees."""
    qs = VideoRetentionReport.objects.filter(
        compound__in=Compound.objects.visible_to(user).values("pk"), reported_at__gte=timezone.now() - SHOWN
    )
    if compound is not None:
        qs = qs.filter(compound=compound)
    latest: dict[tuple[int, int], VideoRetentionReport] = {}
    for report in qs.select_related("compound", "device", "camera").order_by("reported_at", "id"):
        latest[(report.device_id, report.channel)] = report
    rows = [CameraRow(r, VIDEO_FLOOR) for r in latest.values()]
    rows.sort(key=lambda r: (r.report.compound.name, r.report.device.name, r.report.channel))
    return rows
