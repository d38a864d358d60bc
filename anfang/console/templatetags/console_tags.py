"""Formatting for the console and alarm pages."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """12 → "12 秒"; 200 → "3 分 20 秒"; 7300 → "2 小时 1 分"."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    if s < 60:
        return _("%(s)d 秒") % {"s": s}
    if s < 3600:
        return _("%(m)d 分 %(s)d 秒") % {"m": s // 60, "s": s % 60}
    return _("%(h)d 小时 %(m)d 分") % {"h": s // 3600, "m": s % 3600 // 60}


@register.filter
def person(user: object) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]
