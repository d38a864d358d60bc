"""Template helpers of the duty pages: whether the navigation offers them, and durations that read
like a person would say them ("3 分 20 秒")."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from anfang.core.grants import has_role

register = template.Library()


@register.filter
def sees_duty(user: Any) -> bool:
    """The user holds a duty, manager or police role (read from the grants cached for the request)."""
    from anfang.duty.views import VIEW_ROLES

    return bool(getattr(user, "is_authenticated", False)) and has_role(user, VIEW_ROLES)


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as "45 秒", "3 分 20 秒", "2 小时 5 分", "3 天 4 小时"; an em dash for none."""
    if seconds is None or seconds == "":
        return "—"
    total = max(0, round(float(seconds)))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("%(d)d 天 %(h)d 小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d 小时 %(m)d 分") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d 分 %(s)d 秒") % {"m": minutes, "s": secs}
    return _("%(s)d 秒") % {"s": secs}


@register.filter
def minutes_hm(minutes: Any) -> str:
    """Minutes as "1 小时 20 分" / "45 分"."""
    if minutes is None:
        return "—"
    hours, mins = divmod(int(minutes), 60)
    return _("%(h)d 小时 %(m)d 分") % {"h": hours, "m": mins} if hours else _("%(m)d 分") % {"m": mins}


@register.filter
def percent(value: Any, digits: int = 1) -> str:
    """A 0–1 share as "97.5%"."""
    if value is None:
        return "—"
    return f"{100 * float(value):.{int(digits)}f}%"
