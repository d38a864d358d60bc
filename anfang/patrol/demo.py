"""Demo patrols (make demo, Art 10 / Art 6): for the first compounds, a patrol team of the property
company or community, five QR checkpoints on an ordered route, a plan of two rounds a day, the runs
of the last week and tomorrow, and check-ins for the past rounds — mostly complete, one checkpoint
skipped now and then, a late round and a repeated read — evaluated. Idempotent: what exists is kept,
check-ins carry fixed client ids."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from anfang.compounds.models import Compound

from . import choices as c
from .models import Checkin, Checkpoint, PatrolRun, PatrolTeam, Plan, Route
from .schedule import local_day
from .selectors import walkable_compounds
from .services import CheckinInput, evaluate_runs, generate_runs, record_checkins, set_route_stops

PLACES = [
    ("南门岗亭", "南门出入口东侧"),
    ("1号楼单元门", "1号楼1单元门口"),
    ("地下车库入口", "地下车库坡道口"),
    ("配电室", "3号楼北侧配电室门外"),
    ("北侧围墙", "北侧围墙中段监控杆"),
]
LEG_MINUTES = 6


def seed(compounds: list[Compound], users: dict[str, Any]) -> None:
    guard = users.get("guard")
    walkable = set(walkable_compounds(guard).values_list("pk", flat=True)) if guard else set()
    now = timezone.now()
    today = local_day(now)
    for compound in compounds[:4]:
        org = compound.property_company or compound.community
        if org is None:
            continue
        team, _ = PatrolTeam.objects.get_or_create(organisation=org, name=f"{org.name}巡逻队")
        team.compounds.add(compound)
        if guard is not None and compound.pk in walkable:
            team.members.add(guard)
        checkpoints = []
        for i, (name, location) in enumerate(PLACES, start=1):
            cp, _ = Checkpoint.objects.get_or_create(
                compound=compound,
                code=f"QR{compound.pk:04d}-{i:02d}",
                defaults={"name": name, "location": location, "tag_kind": c.TagKind.QR},
            )
            checkpoints.append(cp)
        route, created = Route.objects.get_or_create(
            compound=compound, name="夜间巡查路线", defaults={"ordered": True, "min_minutes": 10, "max_minutes": 60}
        )
        if created or not route.stops.exists():
            set_route_stops(route, [(cp.pk, 0 if i == 0 else LEG_MINUTES) for i, cp in enumerate(checkpoints)])
        Plan.objects.get_or_create(
            route=route,
            name="早晚两班巡查",
            defaults={
                "start_times": ["08:00", "20:00"],
                "window_minutes": 60,
                "weekdays": [],
                "valid_from": today - dt.timedelta(days=7),
                "team": team,
            },
        )
    generate_runs(today - dt.timedelta(days=7), today + dt.timedelta(days=1))
    _walk_past_rounds([cp.pk for cp in compounds[:4]], guard, now)


def _walk_past_rounds(compound_ids: list[int], guard: Any, now: dt.datetime) -> None:
    past = list(
        PatrolRun.objects.filter(compound_id__in=compound_ids, window_end__lt=now, closed_at=None)
        .select_related("route")
        .order_by("window_start")
    )
    walked = set(Checkin.objects.filter(run_id__in=[r.pk for r in past]).values_list("run_id", flat=True))
    for run in past:
        if run.pk in walked:
            continue
        rng = random.Random(run.pk)
        if rng.random() < 0.05:  # a round nobody walked
            continue
        stops = list(run.route.stops.select_related("checkpoint"))
        late = rng.random() < 0.1
        at = run.window_start + dt.timedelta(minutes=40 if late else 3)
        items = []
        for i, stop in enumerate(stops):
            at += dt.timedelta(minutes=LEG_MINUTES + rng.randint(-1, 3))
            if i and rng.random() < 0.08:  # a checkpoint skipped
                continue
            items.append(
                CheckinInput(code=stop.checkpoint.code, device_time=at, client_id=f"demo-{run.pk}-{i}", run_id=run.pk)
            )
            if rng.random() < 0.05:  # tapped twice
                items.append(
                    CheckinInput(
                        code=stop.checkpoint.code,
                        device_time=at + dt.timedelta(seconds=15),
                        client_id=f"demo-{run.pk}-{i}b",
                        run_id=run.pk,
                    )
                )
        walker = guard if guard is not None and run.team and run.team.members.filter(pk=guard.pk).exists() else None
        record_checkins(
            items,
            source=c.Source.PHONE,
            compound_ids=[run.compound_id],
            guard=walker,
            received_at=at + dt.timedelta(minutes=1),
        )
    # Past rounds are history: close and judge them here, without raising a week of alarms.
    PatrolRun.objects.filter(pk__in=[r.pk for r in past]).update(closed_at=now)
    evaluate_runs([r.pk for r in past], now=now)
