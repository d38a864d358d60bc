"""`audited`: log a view's access to protected data in the audit chain (Art 33(5)).

The entry is written after the view ran and only when it answered < 400 (a 404 for an object out
of scope is no access), but before the response leaves: a failure to audit fails the request.
The view can add what it learned while running (the object's compound, row counts) with `note`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from .services import record_request

NOTE_ATTR = "_anfang_audit_note"


def note(request: HttpRequest, **fields: Any) -> None:
    """Add or override `compound_id`, `object_id`, `purpose` or `detail` of the entry the
    `audited` decorator writes for this request (`detail` dicts are merged)."""
    current: dict[str, Any] = getattr(request, NOTE_ATTR, None) or {}
    if "detail" in fields and "detail" in current:
        fields["detail"] = {**current["detail"], **(fields["detail"] or {})}
    current.update(fields)
    setattr(request, NOTE_ATTR, current)


def audited(
    action: str,
    object_type: str,
    *,
    object_id: str | Callable[[HttpRequest, dict[str, Any]], object] | None = "pk",
    purpose_param: str = "purpose",
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorate a view so each successful call appends an `action` on `object_type`. `object_id`
    is the URL keyword holding the object's id (or a function of the request and the URL keywords);
    the purpose is read from the `purpose_param` query/form field unless the view notes one."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            if response.status_code >= 400:
                return response
            fields: dict[str, Any] = getattr(request, NOTE_ATTR, None) or {}
            if callable(object_id):
                ident = object_id(request, kwargs)
            else:
                ident = kwargs.get(object_id, "") if object_id else ""
            purpose = fields.get("purpose")
            if purpose is None:
                purpose = request.POST.get(purpose_param) or request.GET.get(purpose_param) or ""
            record_request(
                request,
                action,
                object_type,
                fields.get("object_id", ident),
                compound_id=fields.get("compound_id"),
                purpose=purpose,
                detail=fields.get("detail"),
            )
            return response

        return wrapper

    return decorate
