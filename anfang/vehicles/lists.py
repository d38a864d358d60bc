"""Excel import and export of the compound's vehicle lists (issue 8 §2).

One sheet per list, a header row of the fields' zh names, one row per entry. An import is all or
nothing: every row is read and validated first, and a single bad row (named by its Excel row
number and column) leaves the lists as they were. Residents and watch entries are matched by
plate (a row for a plate already listed updates it); visitor passes are always added.
The upload checks (size, type, zip layout) are the compound registry's (compounds.importexport)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import openpyxl
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from anfang.compounds.importexport import cells
from anfang.compounds.importexport.reader import UploadRejected, check_upload, load, opened
from anfang.compounds.models import Compound, ParkingLot, Unit

from . import services
from .models import ListEntry, ResidentVehicle, VisitorPass, WatchEntry

MAX_ROWS = 20_000
DATETIME_PATTERN = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?$"
)

COLUMNS: dict[type[ListEntry], tuple[str, ...]] = {
    ResidentVehicle: (
        "plate",
        "plate_colour",
        "unit",
        "household",
        "owner_name",
        "owner_phone",
        "valid_from",
        "valid_to",
        "parking_lot",
        "note",
    ),
    VisitorPass: (
        "plate",
        "visitor_name",
        "visitor_phone",
        "issued_by",
        "host_name",
        "host_unit",
        "valid_from",
        "valid_to",
        "kind",
        "note",
    ),
    WatchEntry: ("plate", "reason", "added_by_name", "expires_at", "notify_station", "note"),
}
# Shown in the export, not read back.
EXPORT_ONLY: dict[type[ListEntry], tuple[str, ...]] = {
    ResidentVehicle: (),
    VisitorPass: ("uses", "last_entry_at"),
    WatchEntry: ("hits", "last_hit_at"),
}


def field_of(model: type[models.Model], name: str) -> models.Field:
    return cast(models.Field, model._meta.get_field(name))


def header(model: type[models.Model], name: str) -> str:
    return str(getattr(model._meta.get_field(name), "verbose_name", name))


def parse_datetime(raw: Any) -> dt.datetime:
    """A date-time cell, or text like 2024-03-01 08:00; local time of the platform."""
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, dt.date):
        value = dt.datetime.combine(raw, dt.time(0))
    else:
        match = DATETIME_PATTERN.match(str(raw).strip())
        if not match:
            raise cells.CellError(
                _("“%(value)s”不是有效的时间，请按 2024-03-01 08:00 的格式填写。") % {"value": str(raw)[:20]}
            )
        try:
            y, mo, d, h, mi, sec = (int(g or 0) for g in match.groups())
            value = dt.datetime(y, mo, d, h, mi, sec)
        except ValueError:
            raise cells.CellError(_("“%(value)s”不是有效的时间。") % {"value": str(raw)[:20]}) from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def unit_label(unit: Unit) -> str:
    return f"{unit.building.name} {unit.name}"


def _place_finder(compound: Compound) -> dict[str, Callable[[str], Any]]:
    units = list(Unit.objects.filter(compound=compound).select_related("building"))
    by_label: dict[str, list[Unit]] = {}
    for unit in units:
        for label in {"".join(unit_label(unit).split()), "".join(unit.name.split())}:
            by_label.setdefault(label, []).append(unit)
    lots = {lot.name: lot for lot in ParkingLot.objects.filter(compound=compound)}

    def find_unit(text: str) -> Unit:
        found = by_label.get("".join(text.split()), [])
        if len(found) == 1:
            return found[0]
        if found:
            raise cells.CellError(_("“%(value)s”对应多个单元，请写成“楼栋 单元”。") % {"value": text})
        raise cells.CellError(_("本小区没有单元“%(value)s”。") % {"value": text})

    def find_lot(text: str) -> ParkingLot:
        if text in lots:
            return lots[text]
        raise cells.CellError(_("本小区没有停车场“%(value)s”。") % {"value": text})

    return {"unit": find_unit, "host_unit": find_unit, "parking_lot": find_lot}


def _parse(f: models.Field, raw: Any, places: dict[str, Callable[[str], Any]]) -> Any:
    if f.name in places:
        return places[f.name](cells.parse_text(raw))
    if f.choices:
        return cells.parse_choice(raw, f.choices)
    if isinstance(f, models.BooleanField):
        return cells.parse_bool(raw)
    if isinstance(f, models.DateTimeField):
        return parse_datetime(raw)
    if isinstance(f, models.DateField):
        return cells.parse_date(raw)
    return cells.parse_text(raw)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _rows(ws: Any) -> tuple[dict[str, int], list[tuple[int, list[Any]]]]:
    rows = ws.iter_rows(values_only=True)
    head = next(rows, None) or ()
    index = {"".join(str(h or "").split()).rstrip("*＊"): i for i, h in enumerate(head)}
    out: list[tuple[int, list[Any]]] = []
    for number, values in enumerate(rows, start=2):
        if all(cells.is_blank(v) for v in values):
            continue
        if len(out) >= MAX_ROWS:
            raise UploadRejected(_("行数过多：一次最多导入 %(n)s 行。") % {"n": MAX_ROWS})
        out.append((number, list(values)))
    return index, out


def import_list(actor: Any, compound: Compound, model: type[ListEntry], file: Any, name: str) -> ImportResult:
    """Read the first sheet of the workbook into `model` entries of `compound`; all or nothing."""
    kind = services.kind_of(model)
    if not services.holds(actor, compound.pk, kind.edit_roles):
        raise PermissionDenied(_("您没有维护该小区车辆名单的权限。"))
    with opened(file, name) as handle:
        check_upload(handle, name)
        wb = load(handle)
        try:
            index, rows = _rows(wb.worksheets[0])
        finally:
            wb.close()
    result = ImportResult()
    columns = COLUMNS[model]
    fields = {n: field_of(model, n) for n in columns}
    missing = [header(model, n) for n in columns if header(model, n) not in index and _required(fields[n])]
    if missing:
        result.errors.append(_("缺少必填列：%(cols)s") % {"cols": "、".join(missing)})
        return result
    if not rows:
        result.errors.append(_("工作簿中没有数据行。"))
        return result
    places = _place_finder(compound)
    existing: dict[str, ListEntry] = {}
    if model is not VisitorPass:
        existing = {e.plate: e for e in model.objects.filter(compound=compound)}
    entries: list[tuple[int, ListEntry]] = []
    seen: dict[str, int] = {}
    for number, values in rows:
        data: dict[str, Any] = {}
        for n in columns:
            f = fields[n]
            position = index.get(header(model, n))
            raw = values[position] if position is not None and position < len(values) else None
            if cells.is_blank(raw):
                continue
            try:
                data[n] = _parse(f, raw, places)
            except cells.CellError as exc:
                result.errors.append(
                    _("第 %(row)s 行 %(col)s：%(msg)s") % {"row": number, "col": header(model, n), "msg": exc}
                )
        plate_text = data.get("plate", "")
        try:
            plate = services.valid_watch_plate(plate_text) if model is WatchEntry else services.valid_plate(plate_text)
        except ValidationError:
            plate = ""
        entry = existing.get(plate) if plate else None
        if entry is None:
            entry = model(compound=compound)
        for key, value in data.items():
            setattr(entry, key, value)
        if plate and plate in seen and model is not VisitorPass:
            result.errors.append(
                _("第 %(row)s 行：车牌 %(plate)s 与第 %(first)s 行重复。")
                % {"row": number, "plate": plate, "first": seen[plate]}
            )
            continue
        seen.setdefault(plate, number)
        if isinstance(entry, VisitorPass) and entry.created_by_id is None:
            entry.created_by = actor
        if isinstance(entry, WatchEntry) and entry.added_by_id is None:
            entry.added_by = actor
        try:
            services.prepare(entry)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                col = header(model, field_name) if field_name in fields else ""
                for message in messages:
                    result.errors.append(
                        _("第 %(row)s 行 %(col)s：%(msg)s") % {"row": number, "col": col, "msg": message}
                    )
            continue
        entries.append((number, entry))
    if result.errors:
        return result
    with transaction.atomic():
        for _number, entry in entries:
            adding = entry._state.adding
            services.save_entry(actor, entry)
            if adding:
                result.created += 1
            else:
                result.updated += 1
    return result


def _cell(obj: ListEntry, name: str) -> Any:
    f = field_of(type(obj), name)
    value = getattr(obj, name)
    if value is None or value == "":
        return None
    if name in ("unit", "host_unit"):
        return unit_label(value)
    if f.is_relation:
        return str(value)
    if f.choices:
        return str(getattr(obj, f"get_{name}_display")())
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _required(f: models.Field) -> bool:
    return not f.blank and not f.has_default()


def export_list(model: type[ListEntry], rows: models.QuerySet) -> bytes:
    """The list as a workbook that `import_list` reads back."""
    names = COLUMNS[model] + EXPORT_ONLY[model]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = str(model._meta.verbose_name)[:31]
    ws.append([header(model, n) + ("*" if _required(field_of(model, n)) else "") for n in names])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    related = [n for n in ("unit", "host_unit", "parking_lot") if n in names]
    for obj in rows.select_related(*related, *[f"{n}__building" for n in related if n != "parking_lot"]):
        ws.append([_cell(obj, n) for n in names])
    for i, n in enumerate(names, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(header(model, n)) * 2 + 4)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
