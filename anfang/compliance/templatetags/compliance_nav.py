"""`{{ user|sees_compounds }}`: whether the main navigation offers the compliance dashboard."""

from __future__ import annotations

from typing import Any

from django import template

from anfang.compounds.models import Compound

register = template.Library()


@register.filter
def sees_compounds(user: Any) -> bool:
    """At least one compound visible; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_anfang_sees_compounds", None)
    if cached is None:
        cached = user._anfang_sees_compounds = Compound.objects.visible_to(user).exists()
    return cached
