"""Helpers shared by the HTML views of every app: pagination, display of field values, service
errors onto forms, and the change history table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Page, Paginator
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .history import field_label
from .models import ChangeRecord

PER_PAGE = 25
EMPTY = "—"


def paginate(request: HttpRequest, items: Any, per_page: int = PER_PAGE) -> Page:
    """The requested page; a bad or too-large page number gives the nearest valid page."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def format_value(field: Any, value: Any) -> str:
    """A value as people read it: choice labels, 是/否, "未核查" for an unsurveyed yes/no."""
    if isinstance(field, models.BooleanField):
        return str({True: _("是"), False: _("否")}.get(value, _("未核查")))
    if value is None or value == "":
        return EMPTY
    if field is not None and field.choices and not field.is_relation:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def cell(obj: models.Model, name: str) -> str:
    """One field of one object, formatted for a table cell."""
    return format_value(obj._meta.get_field(name), getattr(obj, name))


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError next to the fields it names; the rest above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@dataclass
class HistoryEntry:
    record: ChangeRecord
    kind: str = ""  # the changed object's model, e.g. 楼栋
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (label, before, after)


def _model_field(model: type[models.Model] | None, name: str) -> models.Field | None:
    try:
        return model._meta.get_field(name) if model else None  # type: ignore[return-value]
    except FieldDoesNotExist:
        return None


def _in_field_order(model: type[models.Model] | None, changes: dict[str, Any]) -> list[str]:
    order = {f.name: i for i, f in enumerate(model._meta.fields)} if model else {}
    return sorted(changes, key=lambda name: (order.get(name, len(order)), name))


def history_entries(records: Iterable[ChangeRecord]) -> list[HistoryEntry]:
    """Field-by-field before → after with verbose names. Foreign keys are shown by name,
    resolved with one query per related model on the page (not one per row)."""
    records = list(records)
    wanted: dict[Any, set[Any]] = defaultdict(set)
    for record in records:
        model = record.content_type.model_class()
        for name, values in record.changes.items():
            f = _model_field(model, name)
            if f is not None and f.is_relation:
                wanted[f.related_model].update(v for v in values if v is not None)
    names = {
        related: {obj.pk: str(obj) for obj in related._base_manager.select_related().filter(pk__in=ids)}
        for related, ids in wanted.items()
    }
    entries = []
    for record in records:
        model = record.content_type.model_class()
        entry = HistoryEntry(record, str(model._meta.verbose_name) if model else "")
        for name in _in_field_order(model, record.changes):
            if name == "compound":  # the page already is the compound's
                continue
            before, after = record.changes[name]
            f = _model_field(model, name)
            if f is not None and f.is_relation:
                known = names.get(f.related_model, {})
                before, after = (v if v is None else known.get(v, f"#{v}") for v in (before, after))
                f = None
            shown = format_value(f, before), format_value(f, after)
            if shown[0] != shown[1]:
                entry.changes.append((field_label(model, name) if model else name, *shown))
        entries.append(entry)
    return entries


def save_through(form: forms.BaseForm, save: Callable[[Any], Any]) -> bool:
    """Hand a valid model form's instance to a service; a ValidationError from the service
    lands on the form next to the fields it names. True when saved."""
    if not form.is_valid():
        return False
    try:
        save(form.instance)  # type: ignore[attr-defined]
    except ValidationError as exc:
        add_service_errors(form, exc)
        return False
    return True
