"""Shared pieces of the REST API: id and text types, error bodies, limit/offset pagination, and
schema generators that turn a model (or a filter dataclass) into ninja schemas, so field titles,
help texts, choices and limits appear in OpenAPI without hand-written copies."""

from __future__ import annotations

import dataclasses
import json
import typing
from functools import cache
from typing import Annotated, Any, Literal, NamedTuple

from django.core import validators as dv
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext
from ninja import Field, Schema
from ninja.orm import create_schema
from ninja.orm.fields import TYPES
from ninja.responses import NinjaJSONEncoder
from pydantic import AfterValidator, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

# Ids are 64-bit in every backend; bigger numbers would overflow the driver (a 500, not a 404).
MAX_ID = 2**63 - 1
MAX_OFFSET = 10**9


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; reject it as bad input instead of failing on write.
    if "\x00" in value:
        raise PydanticCustomError("no_nul", gettext("不能包含空字符（\\x00）。"))
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Text = Annotated[str, AfterValidator(_no_nul), Field(max_length=200)]


class ErrorOut(Schema):
    detail: str


class FieldError(Schema):
    loc: list[str | int] = Field(description="出错位置，末项为字段名")
    msg: str
    type: str = ""


class ValidationErrorOut(Schema):
    detail: list[FieldError]


def errors(*codes: int) -> dict[int, type[Schema]]:
    """The error responses an operation documents: always 400 (unparsable body), 401 (every
    endpoint needs a login) and 422 (invalid input), plus `codes`."""
    return {code: ValidationErrorOut if code == 422 else ErrorOut for code in (400, 401, 422, *codes)}


# ---------------------------------------------------------------- pagination


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=200, description="每页条数")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="跳过条数")


@cache
def page_of(item: type[Schema]) -> type[Schema]:
    """`{count, items}` response schema for a list of `item`."""
    return create_model(
        f"{item.__name__}Page",
        __base__=Schema,
        count=(int, Field(description="符合条件的总数")),
        items=(list[item], ...),  # type: ignore[valid-type]
    )


def paginate(qs: QuerySet, page: PageParams) -> dict[str, Any]:
    """Two queries whatever the page size: the count and the page itself."""
    return {"count": qs.count(), "items": list(qs[page.offset : page.offset + page.limit])}


# ---------------------------------------------------------------- schemas from models


class ModelSchemas(NamedTuple):
    out: type[Schema]
    create: type[Schema]
    patch: type[Schema]


def input_fields(model: type[models.Model], exclude: tuple[str, ...] = ()) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.editable and not f.primary_key and f.name not in set(exclude)]


def _describe(field: models.Field) -> str | None:
    parts = [str(field.help_text)] if field.help_text else []
    if field.choices:
        parts.append("; ".join(f"{value} = {label}" for value, label in field.flatchoices if value != ""))
    return " · ".join(parts) or None


def _bounds(field: models.Field) -> dict[str, Any]:
    """The model's limits (its own validators, the portable integer ranges, lengths, digits) as
    JSON-schema bounds, so OpenAPI says what the model will accept."""
    if field.is_relation:
        return {"ge": 1, "le": MAX_ID}
    if field.choices:
        return {}
    low, high = BaseDatabaseOperations.integer_field_ranges.get(field.get_internal_type(), (None, None))
    for v in getattr(field, "_validators", []):  # the model's own, not the backend's (SQLite: 64-bit)
        limit = getattr(v, "limit_value", None)
        if limit is None or callable(limit):
            continue
        if isinstance(v, dv.MinValueValidator):
            low = limit if low is None else max(low, limit)
        elif isinstance(v, dv.MaxValueValidator):
            high = limit if high is None else min(high, limit)
    bounds: dict[str, Any] = {k: v for k, v in (("ge", low), ("le", high)) if v is not None}
    if isinstance(field, models.CharField | models.TextField) and field.max_length:
        bounds["max_length"] = field.max_length
    if isinstance(field, models.DecimalField):
        bounds.update(max_digits=field.max_digits, decimal_places=field.decimal_places)
    return bounds


def _base_type(field: models.Field) -> Any:
    if field.is_relation:
        return int
    if field.choices:
        values = tuple(v for v, _label in field.flatchoices)
        return Literal[values + (("",) if field.blank and "" not in values else ())]  # type: ignore[valid-type]
    if isinstance(field, models.GenericIPAddressField):
        return str  # Django validates and normalises the address
    return TYPES[field.get_internal_type()]


def _spec(field: models.Field, mode: str, optional: bool = False) -> tuple[str, Any, FieldInfo]:
    """One field for `mode` ∈ out / create / patch."""
    kind = _base_type(field)
    nullable = field.null
    if mode != "out" and isinstance(kind, type) and issubclass(kind, str) and not field.choices:
        kind = Annotated[kind, AfterValidator(_no_nul)]
    annotation = kind | None if nullable else kind
    docs: dict[str, Any] = {"title": str(field.verbose_name), "description": _describe(field)}
    if mode == "out":
        alias = field.attname if field.is_relation else None
        return field.name, annotation, Field(..., validation_alias=alias, **docs)
    required = mode == "create" and not optional and not (field.null or field.blank or field.has_default())
    if required:
        return field.name, annotation, Field(..., **docs, **_bounds(field))
    default = None if mode == "patch" or field.null else field.get_default()
    return field.name, annotation, Field(default, **docs, **_bounds(field))


def model_schemas(
    model: type[models.Model],
    *,
    read_only: tuple[str, ...] = (),
    hidden: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    out_base: type[Schema] = Schema,
) -> ModelSchemas:
    """Out / Create / Patch schemas of a model. Foreign keys are plain ids under the field name;
    choices become enums; model validators become bounds. `read_only` fields are left out of the
    inputs, `hidden` ones out of everything; `optional` ones are not required on create (a service
    fills them); `out_base` adds computed fields."""
    name = model.__name__
    out_fields = [f for f in model._meta.concrete_fields if f.name not in hidden]
    writable = input_fields(model, read_only + hidden)
    out = create_schema(
        model,
        name=f"{name}Out",
        fields=[f.name for f in out_fields],
        custom_fields=[_spec(f, "out") for f in out_fields],
        base_class=out_base,
    )
    create = create_schema(
        model,
        name=f"{name}In",
        fields=[f.name for f in writable],
        custom_fields=[_spec(f, "create", f.name in optional) for f in writable],
    )
    patch = create_schema(
        model,
        name=f"{name}Patch",
        fields=[f.name for f in writable],
        custom_fields=[_spec(f, "patch") for f in writable],
    )
    return ModelSchemas(out, create, patch)


def filter_schema(
    spec: type, model: type[models.Model], name: str, extra: dict[str, Any] | None = None
) -> type[Schema]:
    """Query-parameter schema for a filter dataclass: ids bounded, choice fields as enums taken from
    the model field of the same name (or from `extra`), free text without NUL."""
    hints = typing.get_type_hints(spec)
    extra = extra or {}
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        kind: Any = hints[f.name]
        title: str | None = None
        model_field = next((mf for mf in model._meta.concrete_fields if mf.name == f.name), None)
        if f.name in extra:
            kind = extra[f.name] | None
        elif model_field is not None and model_field.choices and not model_field.is_relation:
            kind = _base_type(model_field) | None
        elif kind == int | None:
            kind = Id | None
        elif kind == str | None:
            kind = Text | None
        if model_field is not None:
            title = str(model_field.verbose_name)
        fields[f.name] = (kind, Field(f.default, title=title))
    return create_model(name, __base__=Schema, **fields)


# ---------------------------------------------------------------- fast list responses

_ROW_PLANS: dict[type[Schema], list[tuple[str, Any]]] = {}


def _row_plan(schema: type[Schema], obj: models.Model) -> list[tuple[str, Any]]:
    """How to read each of the schema's fields off an object: its `resolve_<name>`, or the model
    attribute (a foreign key by its id, as the schemas expose it)."""
    plan = _ROW_PLANS.get(schema)
    if plan is None:
        plan = []
        for name in schema.model_fields:
            resolver = getattr(schema, f"resolve_{name}", None)
            if resolver is None:
                try:
                    field = obj._meta.get_field(name)
                    attname = getattr(field, "attname", name)
                except Exception:
                    attname = name
                plan.append((name, attname))
            else:
                plan.append((name, resolver))
        _ROW_PLANS[schema] = plan
    return plan


def json_page(schema: type[Schema], count: int, items: typing.Sequence[models.Model]) -> HttpResponse:
    """A `{count, items}` page rendered the way ninja renders `page_of(schema)` — same values, same
    encoder — without ninja's per-attribute validation pass, which cost more than the whole SQL of
    a 50-row page. Use only for list endpoints whose rows the schema's own output has been proven
    equal to in a test (tests/api/test_fast_pages.py)."""
    rows = []
    for obj in items:
        plan = _row_plan(schema, obj)
        rows.append({name: how(obj) if callable(how) else getattr(obj, how) for name, how in plan})
    body = json.dumps({"count": count, "items": rows}, cls=NinjaJSONEncoder)
    return HttpResponse(body, content_type="application/json; charset=utf-8")
