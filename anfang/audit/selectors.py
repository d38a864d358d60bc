"""Scoped reads of the audit (Art 33(5)): property and community managers see the entries of
their compounds, police those of their jurisdiction, platform admins everything; an entry without
a compound (a search across compounds) is seen by its actor and platform admins only."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from anfang.compounds.models import Compound
from anfang.core.choices import Role
from anfang.core.grants import has_role, is_platform_admin

from .choices import ExportStatus
from .models import AuditEntry, ExportRequest
from .services import APPROVER_ROLES

BROWSE_ROLES = frozenset(
    {Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER, Role.POLICE_STATION, Role.POLICE_DISTRICT, Role.POLICE_CITY}
)


def can_browse(user: Any) -> bool:
    return has_role(user, BROWSE_ROLES)


def browsable_compounds(user: Any) -> QuerySet[Compound]:
    return Compound.objects.in_scope_of_roles(user, BROWSE_ROLES)


def visible_entries(user: Any) -> QuerySet[AuditEntry]:
    if is_platform_admin(user):
        return AuditEntry.objects.all()
    ids = list(browsable_compounds(user).values_list("pk", flat=True))
    return AuditEntry.objects.filter(Q(compound_id__in=ids) | Q(compound_id=None, actor_id=user.pk))


def my_exports(user: Any) -> QuerySet[ExportRequest]:
    return ExportRequest.objects.filter(requester=user).select_related("approver").prefetch_related("compounds")


def approval_queue(user: Any) -> QuerySet[ExportRequest]:
    """Requests awaiting a decision that this user may decide: someone else's, every compound in
    the user's approving scope."""
    qs = ExportRequest.objects.filter(status=ExportStatus.REQUESTED).exclude(requester=user)
    if not is_platform_admin(user):
        scope = Compound.objects.in_scope_of_roles(user, APPROVER_ROLES).values("pk")
        qs = qs.exclude(compounds__in=Compound.objects.exclude(pk__in=scope))
    return qs.select_related("requester").prefetch_related("compounds")


def visible_exports(user: Any) -> QuerySet[ExportRequest]:
    """The requester's own requests and every request in the user's approving scope."""
    if is_platform_admin(user):
        return ExportRequest.objects.all()
    scope = Compound.objects.in_scope_of_roles(user, APPROVER_ROLES).values("pk")
    outside = ExportRequest.objects.filter(compounds__in=Compound.objects.exclude(pk__in=scope)).values("pk")
    return (
        ExportRequest.objects.filter(Q(requester=user) | ~Q(pk__in=outside))
        .filter(Q(requester=user) | Q(compounds__in=scope))
        .distinct()
    )
