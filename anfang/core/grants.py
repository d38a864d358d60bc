"""What a user may do, read once per request from their role grants."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .choices import REGISTRY_EDIT_ROLES, Role
from .models import RoleGrant


def grants_of(user: Any) -> list[RoleGrant]:
    """The user's grants, cached on the user object (one query per request)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_anfang_grants", None)
    if cached is None:
        cached = list(RoleGrant.objects.filter(user=user).select_related("organisation"))
        user._anfang_grants = cached
    return cached


def is_platform_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or any(g.role == Role.PLATFORM_ADMIN for g in grants_of(user))


def has_role(user: Any, roles: Iterable[str]) -> bool:
    wanted = set(roles)
    return is_platform_admin(user) or any(g.role in wanted for g in grants_of(user))


def can_edit_registry(user: Any) -> bool:
    return has_role(user, REGISTRY_EDIT_ROLES)
