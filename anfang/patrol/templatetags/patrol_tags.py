"""Template helpers of the patrol pages: whether the navigation offers them, and figures as people
read them."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from anfang.core.choices import Role
from anfang.core.grants import has_role

register = template.Library()

WALKERS = frozenset({Role.GUARD, Role.DUTY_OPERATOR})


def _authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


@register.filter
def sees_patrol(user: Any) -> bool:
    """Managers, duty rooms and police read patrols; guards walk them (the phone page)."""
    from anfang.patrol.views import VIEW_ROLES

    return _authenticated(user) and (has_role(user, VIEW_ROLES) or has_role(user, WALKERS))


@register.filter
def manages_patrol(user: Any) -> bool:
    from anfang.patrol.views import MANAGE_ROLES

    return _authenticated(user) and has_role(user, MANAGE_ROLES)


@register.filter
def reads_patrol(user: Any) -> bool:
    from anfang.patrol.views import VIEW_ROLES

    return _authenticated(user) and has_role(user, VIEW_ROLES)


@register.filter
def percent(value: Any) -> str:
    """0.953 → "95.3%"; an em dash for none."""
    if value is None or value == "":
        return "—"
    return f"{100 * float(value):.1f}%"


@register.filter
def minutes(seconds: Any) -> str:
    """Seconds as "m:ss"."""
    if seconds is None or seconds == "":
        return "—"
    total = max(0, int(seconds))
    return f"{total // 60}:{total % 60:02d}"


@register.filter
def weekday_names(days: Any) -> str:
    """[0, 2, 4] → "周一、周三、周五"; empty → "每天"."""
    from anfang.patrol.choices import Weekday

    if not days:
        return _("每天")
    labels = dict(Weekday.choices)
    return "、".join(str(labels.get(d, d)) for d in sorted(days))


@register.filter
def flag_label(flag: Any) -> str:
    """A check-in flag (choices.CheckinFlag) in words."""
    from anfang.patrol.choices import CheckinFlag

    return str(dict(CheckinFlag.choices).get(flag, flag))
