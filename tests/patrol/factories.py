"""Patrol test data: a compound with four checkpoints on an ordered route walked by one guard."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from anfang.core.choices import Role
from anfang.devices import choices as dc
from anfang.patrol.models import Checkpoint, PatrolRun, PatrolTeam, Plan, Route
from anfang.patrol.schedule import LOCAL
from anfang.patrol.services import set_route_stops
from tests import factories as f


def local(*args: int) -> dt.datetime:
    """An Asia/Shanghai wall-clock time."""
    return dt.datetime(*args, tzinfo=LOCAL)


@dataclass
class Site:
    compound: Any
    guard: Any
    checkpoints: list[Checkpoint]
    route: Route
    plan: Plan

    def run(self, start: dt.datetime, minutes: int = 60, **kwargs: Any) -> PatrolRun:
        return PatrolRun.objects.create(
            plan=kwargs.pop("plan", None),
            route=kwargs.pop("route", self.route),
            compound=self.compound,
            day=start.astimezone(LOCAL).date(),
            window_start=start,
            window_end=start + dt.timedelta(minutes=minutes),
            guard=kwargs.pop("guard", self.guard),
            expected_count=len(self.checkpoints),
            **kwargs,
        )

    def reader(self, **kwargs: Any):
        return f.DeviceFactory(
            compound=self.compound,
            name=kwargs.pop("name", "巡更棒1"),
            subsystem=dc.Subsystem.PATROL,
            device_type=dc.DeviceType.PATROL_READER,
            serial=kwargs.pop("serial", "RD-0001"),
            **kwargs,
        )


def site(compound=None, guard=None, prefix: str = "A", leg_minutes: int = 5, ordered: bool = True) -> Site:
    compound = compound or f.CompoundFactory()
    guard = guard or f.user_with(Role.GUARD, compound=compound)
    checkpoints = [
        Checkpoint.objects.create(compound=compound, name=f"{prefix}点{i}", code=f"{prefix}-{i}", location=f"{i}号楼")
        for i in range(1, 5)
    ]
    route = Route.objects.create(compound=compound, name=f"{prefix}线", ordered=ordered)
    set_route_stops(route, [(cp.pk, 0 if i == 0 else leg_minutes) for i, cp in enumerate(checkpoints)])
    plan = Plan.objects.create(
        route=route,
        name=f"{prefix}夜巡",
        start_times=["22:00"],
        window_minutes=60,
        weekdays=[],
        valid_from=dt.date(2026, 1, 1),
        guard=guard,
    )
    return Site(compound, guard, checkpoints, route, plan)


def team(organisation, compounds, members, name: str = "巡防一队") -> PatrolTeam:
    team = PatrolTeam.objects.create(name=name, organisation=organisation)
    team.compounds.set(compounds)
    team.members.set(members)
    return team
