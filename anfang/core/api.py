"""Core API (`/api/core/…`): who am I, the organisation directory — and the few helpers every
app's API uses to read through the scope querysets and write through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from .choices import OrgKind
from .grants import can_edit_registry, is_platform_admin
from .models import Organisation, RoleGrant
from .schemas import Id, PageParams, Text, errors, model_schemas, page_of, paginate

router = Router(tags=["core"])

M = TypeVar("M", bound=models.Model)


# ---------------------------------------------------------------- helpers for every app's API


def actor(request: HttpRequest) -> Any:
    """The user the request acts as (session or bearer token)."""
    return request.auth  # type: ignore[attr-defined]


def visible_or_404(qs: QuerySet, **lookup: Any) -> Any:
    """The object if the user's visible queryset holds it; outside the scope it does not exist."""
    obj = qs.filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


def require_editable(editable: QuerySet, pk: int) -> None:
    """Visible but not editable answers 403 before the payload is looked at."""
    if not editable.filter(pk=pk).exists():
        raise PermissionDenied(gettext("您没有修改该记录的权限。"))


def _choices_for(user: Any, field: Any) -> QuerySet:
    qs = field.related_model._default_manager.all()
    if hasattr(qs, "visible_to"):  # compounds, parts, devices: only what the user may see
        qs = qs.visible_to(user)
    return qs.complex_filter(field.get_limit_choices_to())


def payload_data(payload: Schema) -> dict[str, Any]:
    """The fields the client sent: every write (and filter) applies only those, so PATCH is partial
    and the model's own defaults stand on create."""
    return payload.model_dump(exclude_unset=True)


def assign(user: Any, obj: M, data: dict[str, Any]) -> M:
    """Copy payload values onto `obj`. Foreign-key ids are resolved through the user's scope and the
    field's `limit_choices_to`; an id that is unknown, out of scope or of the wrong kind is a 422
    naming the field (and never reaches `clean()`, which would follow the missing relation)."""
    problems: dict[str, str] = {}
    for name, value in data.items():
        field: Any = obj._meta.get_field(name)
        if field.is_relation and value is not None:
            target = _choices_for(user, field).filter(pk=value).first()
            if target is None:
                problems[name] = gettext("所选%(model)s（id %(id)s）不存在或不可选。") % {
                    "model": field.related_model._meta.verbose_name,
                    "id": value,
                }
                continue
            value = target
        setattr(obj, name, value)
    if problems:
        raise ValidationError(problems)
    return obj


def conflict_on_refusal(write: Callable[..., Any], *args: Any) -> Any:
    """A service that refuses with a ValidationError (e.g. a compound with history) is a 409."""
    try:
        return write(*args)
    except ValidationError as exc:
        raise HttpError(409, " ".join(exc.messages)) from exc


# ---------------------------------------------------------------- /me


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    email: str


class GrantOut(Schema):
    role: str
    role_label: str
    scope: Literal["platform", "organisation", "compound"]
    scope_id: int | None
    scope_label: str


class MeOut(Schema):
    user: UserOut
    grants: list[GrantOut]
    is_platform_admin: bool
    can_edit_registry: bool


def _grant_out(g: RoleGrant) -> dict[str, Any]:
    if g.organisation_id:
        scope, scope_id, label = "organisation", g.organisation_id, str(g.organisation)
    elif g.compound_id:
        scope, scope_id, label = "compound", g.compound_id, str(g.compound)
    else:
        scope, scope_id, label = "platform", None, gettext("全平台")
    return {
        "role": g.role,
        "role_label": str(g.get_role_display()),
        "scope": scope,
        "scope_id": scope_id,
        "scope_label": label,
    }


@router.get("/me", response={200: MeOut, **errors()}, summary="当前用户、角色授权与权限")
def me(request: HttpRequest) -> dict[str, Any]:
    user = actor(request)
    grants = RoleGrant.objects.filter(user=user).select_related("organisation", "compound").order_by("id")
    return {
        "user": {
            "id": user.pk,
            "username": user.get_username(),
            "full_name": user.get_full_name(),
            "email": user.email,
        },
        "grants": [_grant_out(g) for g in grants],
        "is_platform_admin": is_platform_admin(user),
        "can_edit_registry": can_edit_registry(user),
    }


# ---------------------------------------------------------------- organisations (read-only directory)


class OrganisationExtra(Schema):
    kind_label: str

    @staticmethod
    def resolve_kind_label(obj: Organisation) -> str:
        return str(obj.get_kind_display())


OrganisationOut = model_schemas(Organisation, hidden=("path",), out_base=OrganisationExtra).out


class OrganisationFilter(Schema):
    kind: OrgKind | None = Field(None, description="组织类型")
    parent: Id | None = Field(None, description="上级组织 id")
    q: Text | None = Field(None, description="名称或代码包含")


@router.get(
    "/organisations",
    response={200: page_of(OrganisationOut), **errors()},
    summary="组织目录（公安、社区、物业等），只读",
)
def organisations(request: HttpRequest, filters: Query[OrganisationFilter], page: Query[PageParams]) -> dict:
    qs = Organisation.objects.all()
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.parent:
        qs = qs.filter(parent_id=filters.parent)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(code__icontains=filters.q))
    return paginate(qs.order_by("path", "id"), page)
