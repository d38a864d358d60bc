"""Navigation checks for the base template: who gets the console link, who their dispatches."""

from __future__ import annotations

from typing import Any

from django import template

from anfang.alarms.services import HANDLE_ROLES
from anfang.core.choices import Role
from anfang.core.grants import grants_of, has_role

register = template.Library()


@register.filter
def handles_alarms(user: Any) -> bool:
    """Holds a role that handles alarms somewhere (the console decides which compounds)."""
    return has_role(user, HANDLE_ROLES)


@register.filter
def is_guard(user: Any) -> bool:
    return any(g.role == Role.GUARD for g in grants_of(user))
