"""Navigation filters for the audit pages (which tabs and links a user sees)."""

from typing import Any

from django import template

from anfang.core.grants import has_role

from ..selectors import can_browse
from ..services import APPROVER_ROLES

register = template.Library()


@register.filter
def sees_audit(user: Any) -> bool:
    return can_browse(user)


@register.filter
def approves_exports(user: Any) -> bool:
    return has_role(user, APPROVER_ROLES)
