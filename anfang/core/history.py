"""Change history: a snapshot of an object's fields before and after, stored as a ChangeRecord."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import ChangeRecord

Snapshot = dict[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def snapshot(obj: models.Model) -> Snapshot:
    """Concrete, editable field values by field name (FKs by id), JSON-ready."""
    data: Snapshot = {}
    for field in obj._meta.concrete_fields:
        if not field.editable or field.primary_key:
            continue
        data[field.name] = _plain(getattr(obj, field.attname))
    return data


def diff(before: Snapshot | None, after: Snapshot | None) -> dict[str, list[Any]]:
    before, after = before or {}, after or {}
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record_change(
    actor: Any,
    obj: models.Model,
    action: str,
    *,
    before: Snapshot | None = None,
    after: Snapshot | None = None,
    compound_id: int | None = None,
    note: str = "",
) -> ChangeRecord:
    return ChangeRecord.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk),
        object_repr=str(obj)[:255],
        compound_id=compound_id,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        changes=diff(before, after),
        note=note[:255],
    )


def field_label(model: type[models.Model], name: str) -> str:
    try:
        field = model._meta.get_field(name)
    except Exception:
        return name
    return str(getattr(field, "verbose_name", name))
