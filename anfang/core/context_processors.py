from typing import Any

from django.http import HttpRequest

from .grants import can_edit_registry, grants_of, is_platform_admin


def grants(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_grants": grants_of(user),
        "can_edit_registry": can_edit_registry(user),
        "is_platform_admin": is_platform_admin(user),
    }
