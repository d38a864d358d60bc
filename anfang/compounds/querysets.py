"""Scope filtering — the one place that decides which compounds a user sees or edits.

Every page, API endpoint, export and report goes through `visible_to` / `editable_by`.
A grant on an organisation covers every compound whose police station, community or property
company lies at or under that organisation in the tree; a grant on a compound covers it alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Q

from anfang.core.choices import REGISTRY_EDIT_ROLES
from anfang.core.grants import grants_of, is_platform_admin


def _scope_grants(user: Any, roles: Iterable[str] | None) -> list:
    wanted = set(roles) if roles is not None else None
    return [g for g in grants_of(user) if wanted is None or g.role in wanted]


def _orgs_under(paths: Iterable[str]) -> models.QuerySet:
    from anfang.core.models import Organisation

    path_q = Q(pk__in=[])
    for path in paths:
        path_q |= Q(path__startswith=path)
    return Organisation.objects.filter(path_q)


def orgs_in_scope(user: Any, roles: Iterable[str] | None = None) -> set[int] | None:
    """Ids of the organisations at or under the user's organisation grants; None means all."""
    if is_platform_admin(user):
        return None
    paths = {g.organisation.path for g in _scope_grants(user, roles) if g.organisation_id and g.organisation}
    return set(_orgs_under(paths).values_list("pk", flat=True)) if paths else set()


def compound_scope(user: Any, roles: Iterable[str] | None = None) -> Q | None:
    """Q over Compound for the user's grants (limited to `roles` if given); None means all."""
    if is_platform_admin(user):
        return None
    grants = _scope_grants(user, roles)
    q = Q(pk__in=[g.compound_id for g in grants if g.compound_id])
    paths = sorted({g.organisation.path for g in grants if g.organisation_id and g.organisation})
    if paths:
        orgs = _orgs_under(paths).values("pk")
        q |= Q(police_station__in=orgs) | Q(community__in=orgs) | Q(property_company__in=orgs)
    return q


class CompoundQuerySet(models.QuerySet):
    def _scoped(self, user: Any, roles: Iterable[str] | None) -> CompoundQuerySet:
        q = compound_scope(user, roles)
        return self if q is None else self.filter(q)

    def visible_to(self, user: Any) -> CompoundQuerySet:
        return self._scoped(user, None)

    def editable_by(self, user: Any) -> CompoundQuerySet:
        return self._scoped(user, REGISTRY_EDIT_ROLES)

    def in_scope_of_roles(self, user: Any, roles: Iterable[str]) -> CompoundQuerySet:
        """Compounds covered by the user's grants of these roles only (e.g. who may run an
        assessment: a guard grant elsewhere must not widen a manager's reach)."""
        return self._scoped(user, roles)

    def active(self) -> CompoundQuerySet:
        return self.filter(archived_at=None)


class ScopedQuerySet(models.QuerySet):
    """For every model with a `compound` foreign key (compound parts, devices, …)."""

    def _scoped(self, user: Any, roles: Iterable[str] | None) -> ScopedQuerySet:
        from .models import Compound

        q = compound_scope(user, roles)
        return self if q is None else self.filter(compound__in=Compound.objects.filter(q).values("pk"))

    def visible_to(self, user: Any) -> ScopedQuerySet:
        return self._scoped(user, None)

    def editable_by(self, user: Any) -> ScopedQuerySet:
        return self._scoped(user, REGISTRY_EDIT_ROLES)
