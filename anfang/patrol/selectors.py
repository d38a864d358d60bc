"""Scoped reads for patrols. A user sees the patrols of the compounds their grants cover, plus —
for a guard on a patrol team (Art 6: one team covers several compounds) — those of the team's
compounds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from anfang.compounds.models import Compound
from anfang.core.choices import Role
from anfang.core.grants import has_role

from .choices import OPEN_STATUSES
from .models import Checkin, Checkpoint, PatrolException, PatrolRun, ReaderUpload, Route

# A run may be picked up on the phone this long before its window opens, and is still offered
# until it is closed (window end + services.CLOSE_GRACE).
PICK_UP_BEFORE = dt.timedelta(minutes=30)

# Roles that walk patrols: a manager can stand in for a guard.
WALKER_ROLES = (Role.GUARD, Role.DUTY_OPERATOR, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER)


def team_compound_ids(user: Any) -> QuerySet:
    return Compound.objects.filter(patrol_teams__members=user, patrol_teams__active=True).values("pk")


def patrol_compounds(user: Any) -> QuerySet[Compound]:
    if not getattr(user, "is_authenticated", False):
        return Compound.objects.none()
    visible = Compound.objects.visible_to(user)
    if not has_role(user, WALKER_ROLES):
        return visible
    return Compound.objects.filter(Q(pk__in=visible.values("pk")) | Q(pk__in=team_compound_ids(user)))


def walkable_compounds(user: Any) -> QuerySet[Compound]:
    """Compounds where the user may check in: a walker role's grants, or their patrol teams."""
    if not getattr(user, "is_authenticated", False) or not has_role(user, WALKER_ROLES):
        return Compound.objects.none()
    granted = Compound.objects.in_scope_of_roles(user, WALKER_ROLES)
    return Compound.objects.filter(Q(pk__in=granted.values("pk")) | Q(pk__in=team_compound_ids(user)))


def _in(model_qs: QuerySet, user: Any) -> QuerySet:
    return model_qs.filter(compound__in=patrol_compounds(user).values("pk"))


def checkpoints_for(user: Any) -> QuerySet[Checkpoint]:
    return _in(Checkpoint.objects.all(), user)


def routes_for(user: Any) -> QuerySet[Route]:
    return _in(Route.objects.all(), user)


def runs_for(user: Any) -> QuerySet[PatrolRun]:
    return _in(PatrolRun.objects.all(), user)


def checkins_for(user: Any) -> QuerySet[Checkin]:
    return _in(Checkin.objects.all(), user)


def exceptions_for(user: Any) -> QuerySet[PatrolException]:
    return _in(PatrolException.objects.all(), user)


def uploads_for(user: Any) -> QuerySet[ReaderUpload]:
    return _in(ReaderUpload.objects.all(), user)


def may_walk(user: Any, run: PatrolRun) -> bool:
    """The run is the user's: assigned to them, to one of their teams, or unassigned in a compound
    where they may check in."""
    if not walkable_compounds(user).filter(pk=run.compound_id).exists():
        return False
    if run.guard_id:
        return run.guard_id == user.pk
    if run.team_id:
        return run.team.members.filter(pk=user.pk).exists() if run.team else False
    return True


def running_runs(user: Any, now: dt.datetime | None = None) -> list[PatrolRun]:
    """Open runs the user may walk now, soonest window first."""
    from .services import CLOSE_GRACE

    now = now or timezone.now()
    mine = Q(guard=user) | Q(guard=None, team__members=user) | Q(guard=None, team=None)
    return list(
        PatrolRun.objects.filter(
            compound__in=walkable_compounds(user).values("pk"),
            status__in=OPEN_STATUSES,
            window_start__lte=now + PICK_UP_BEFORE,
            window_end__gte=now - CLOSE_GRACE,
        )
        .filter(mine)
        .distinct()
        .select_related("route", "compound", "guard")
        .order_by("window_start", "id")
    )
