"""`{{ user|platform_admin }}`: whether the retention tabs offer the purge log."""

from __future__ import annotations

from typing import Any

from django import template

from anfang.core.grants import is_platform_admin

register = template.Library()


@register.filter
def platform_admin(user: Any) -> bool:
    return is_platform_admin(user)
