"""What the patrol module tells the compliance engine for Art 10 (电子巡查系统: the route, method and
process of patrols managed and controlled): the system in place (checkpoints, routes, plans) and in
use (runs of the last WINDOW_DAYS days and their completion rate). A fixed number of queries for any
number of compounds. A compound the module holds nothing for is left out, so the rule falls back to
the device registry."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from . import choices as c
from .models import Checkpoint, PatrolRun, Plan, Route

WINDOW_DAYS = 30


def patrol_facts(compound_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Art 10 — {"checkpoints", "routes", "plans", "runs_30d", "closed_30d", "completed_runs_30d",
    "checkpoints_expected_30d", "checkpoints_done_30d", "completion_rate" (0–1 or None)}
    (compliance.selectors.patrol)."""
    now = timezone.now()
    today = timezone.localdate(now)
    facts: dict[int, dict[str, Any]] = defaultdict(
        lambda: {
            "checkpoints": 0,
            "routes": 0,
            "plans": 0,
            "runs_30d": 0,
            "closed_30d": 0,
            "completed_runs_30d": 0,
            "checkpoints_expected_30d": 0,
            "checkpoints_done_30d": 0,
            "completion_rate": None,
        }
    )
    for compound_id, n in (
        Checkpoint.objects.filter(compound_id__in=compound_ids, active=True)
        .values_list("compound_id")
        .annotate(n=Count("pk"))
    ):
        facts[compound_id]["checkpoints"] = n
    for compound_id, n in (
        Route.objects.filter(compound_id__in=compound_ids, active=True, stops__isnull=False)
        .values_list("compound_id")
        .annotate(n=Count("pk", distinct=True))
    ):
        facts[compound_id]["routes"] = n
    for compound_id, n in (
        Plan.objects.filter(route__compound_id__in=compound_ids, active=True, valid_from__lte=today)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .values_list("route__compound_id")
        .annotate(n=Count("pk"))
    ):
        facts[compound_id]["plans"] = n
    closed = Q(closed_at__isnull=False)
    for compound_id, runs, closed_runs, completed, expected, done in (
        PatrolRun.objects.filter(
            compound_id__in=compound_ids, window_start__gte=now - dt.timedelta(days=WINDOW_DAYS), window_start__lt=now
        )
        .values_list("compound_id")
        .annotate(
            runs=Count("pk"),
            closed=Count("pk", filter=closed),
            completed=Count("pk", filter=closed & Q(status=c.RunStatus.COMPLETED)),
            expected=Sum("expected_count", filter=closed),
            done=Sum("completed_count", filter=closed),
        )
    ):
        row = facts[compound_id]
        row.update(
            runs_30d=runs,
            closed_30d=closed_runs,
            completed_runs_30d=completed,
            checkpoints_expected_30d=expected or 0,
            checkpoints_done_30d=done or 0,
        )
        if expected:
            row["completion_rate"] = round((done or 0) / expected, 4)
    return dict(facts)
