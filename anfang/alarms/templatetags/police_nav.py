"""`{{ user|sees_police_alarms }}`: whether the main navigation offers the police alarm view."""

from __future__ import annotations

from typing import Any

from django import template

from anfang.alarms.police import can_view

register = template.Library()


@register.filter
def sees_police_alarms(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and can_view(user)
