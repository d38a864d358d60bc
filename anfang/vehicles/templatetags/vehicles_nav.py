"""Main-navigation checks for the vehicle pages, the plate search and the police uplink."""

from __future__ import annotations

from typing import Any

from django import template

from anfang.core.grants import has_role

register = template.Library()


@register.filter
def sees_vehicles(user: Any) -> bool:
    from anfang.vehicles import services

    return has_role(user, services.VIEW_ROLES | services.LISTS["visitors"].view_roles)


@register.filter
def searches_plates(user: Any) -> bool:
    from anfang.vehicles.search import can_search

    return can_search(user)


@register.filter
def sees_uplink(user: Any) -> bool:
    from anfang.uplink.selectors import VIEW_ROLES

    return has_role(user, VIEW_ROLES)
