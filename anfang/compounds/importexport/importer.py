"""Import a workbook: all or nothing. Every row of every sheet is validated (cell parsing, then
the model's own full_clean through `services.save`); if anything is wrong the whole transaction
is rolled back and every problem is returned with its sheet, row and column."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from anfang.core.choices import ChangeAction
from anfang.core.history import snapshot
from anfang.core.models import Organisation
from anfang.devices.choices import DEFAULT_SUBSYSTEM
from anfang.devices.models import PLACE_FIELDS, Device

from .. import services
from ..models import Compound
from . import reader
from .layout import (
    COMPOUND_SHEET,
    ORG,
    PLACE_KIND,
    PLACE_NAME,
    REF,
    Sheet,
    key_of,
    place_label,
    related_model,
    sheet_of,
    sheets,
)
from .reader import Issue, ParsedSheet, Row

NOTE = "Excel 导入"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportResult:
    compound: Compound | None = None
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, Counts] = field(default_factory=dict)  # sheet title -> counts

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def created(self) -> int:
        return sum(c.created for c in self.counts.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.counts.values())


def _compact(text: str) -> str:
    return "".join(text.split())


class Importer:
    """One import run inside one transaction. Rows are saved as they go so later sheets can
    name what earlier ones created; a failed row marks its key so rows naming it stay quiet."""

    def __init__(self, actor: Any, compound: Compound | None) -> None:
        self.actor = actor
        self.compound = compound
        self.issues: list[Issue] = []
        self.counts: dict[str, Counts] = {}
        self._index: dict[type[models.Model], dict[tuple, models.Model]] = {}
        self._places: dict[str, dict[str, list[models.Model]]] = {}
        self._orgs: dict[tuple, list[Organisation]] = {}
        self.failed: dict[type[models.Model], set[tuple]] = defaultdict(set)

    # Lookups ----------------------------------------------------------------------------------

    def index(self, model: type[models.Model]) -> dict[tuple, models.Model]:
        """The compound's existing objects of a model by key, kept current as rows are saved."""
        if model not in self._index:
            sheet = sheet_of(model)
            related = [k for k in sheet.key if k != "name"]
            qs = model._default_manager.filter(compound=self.compound).select_related(*related)
            self._index[model] = {key_of(sheet, obj): obj for obj in qs}
        return self._index[model]

    def places(self, field_name: str, label: str) -> list[models.Model]:
        """The places of one kind called `label` in the 位置名称 column (spaces ignored)."""
        if field_name not in self._places:
            model = related_model(Device, field_name)
            labels: dict[str, list[models.Model]] = defaultdict(list)
            for obj in self.index(model).values():
                labels[_compact(place_label(obj))].append(obj)
            self._places[field_name] = labels
        return self._places[field_name].get(_compact(label), [])

    def org(self, kinds: tuple[str, ...], name: str) -> list[Organisation]:
        if (kinds, name) not in self._orgs:
            self._orgs[(kinds, name)] = list(Organisation.objects.filter(kind__in=kinds, name=name)[:2])
        return self._orgs[(kinds, name)]

    # Assigning a row to an object ---------------------------------------------------------------

    def _resolve_ref(self, sheet: Sheet, row: Row, key: str, value: Any) -> tuple[Any, str | None, bool]:
        """(object, error, blocked): blocked means the row it names failed, already reported."""
        if value is None:
            return None, None, False
        target = related_model(sheet.model, key)
        target_sheet = sheet_of(target)
        parent_key = (*(row.values.get(k) for k in target_sheet.key[:-1]), value)
        found = self.index(target).get(parent_key)
        if found is not None:
            return found, None, False
        if parent_key in self.failed[target]:
            return None, None, True
        message = _("找不到“%(name)s”，请先在“%(sheet)s”工作表中登记。") % {
            "name": "".join(str(p) for p in parent_key),
            "sheet": target_sheet.title,
        }
        return None, message, False

    def _resolve_org(self, sheet: Sheet, key: str, value: Any) -> tuple[Any, str | None]:
        if value is None:
            return None, None
        found = self.org(sheet.by_key[key].org_kinds, value)
        if len(found) == 1:
            return found[0], None
        if found:
            return None, _("有多个名为“%(name)s”的单位，请联系平台管理员区分。") % {"name": value}
        return None, _("平台中没有名为“%(name)s”的%(header)s。") % {"name": value, "header": sheet.by_key[key].header}

    def _assign_place(self, obj: Device, row: Row, errors: dict[str, str]) -> bool:
        """Set the device's one place from 位置类型 + 位置名称; returns True when blocked."""
        kind, label = row.values.get("place_kind"), row.values.get("place_name") or ""
        if "place_kind" in errors or "place_name" in errors:
            return False
        if not kind and not label:
            for f in PLACE_FIELDS:
                setattr(obj, f, None)
            return False
        if not kind or not label:
            missing = "place_name" if kind else "place_kind"
            errors[missing] = _("位置类型和位置名称需同时填写。")
            return False
        found = self.places(kind, label)
        if len(found) == 1:
            for f in PLACE_FIELDS:
                setattr(obj, f, found[0] if f == kind else None)
            return False
        model = related_model(Device, kind)
        if found:
            errors["place_name"] = _("有多个部位名为“%(name)s”，请先在对应工作表中改用不同名称。") % {"name": label}
        elif any(_compact("".join(k)) == _compact(label) for k in self.failed[model]):
            return True
        else:
            errors["place_name"] = _("在“%(sheet)s”工作表中找不到“%(name)s”。") % {
                "sheet": sheet_of(model).title,
                "name": label,
            }
        return False

    def assign(self, sheet: Sheet, row: Row, obj: models.Model, errors: dict[str, str]) -> bool:
        """Copy a row's values onto the object; unresolvable references go into errors.
        Returns True when the row names a row that failed (nothing more to say about it)."""
        blocked = False
        for key, value in row.values.items():
            kind = sheet.by_key[key].kind
            if key in errors or kind in (PLACE_KIND, PLACE_NAME):
                continue
            error, stop = None, False
            if kind == REF:
                value, error, stop = self._resolve_ref(sheet, row, key, value)
            elif kind == ORG:
                value, error = self._resolve_org(sheet, key, value)
            if error:
                errors[key] = error
            elif stop:
                blocked = True
            else:
                setattr(obj, key, value)
        if isinstance(obj, Device):
            if "place_kind" in row.values or "place_name" in row.values:
                blocked = self._assign_place(obj, row, errors) or blocked
            if not obj.subsystem and "device_type" not in errors:
                obj.subsystem = DEFAULT_SUBSYSTEM.get(obj.device_type, "")
        return blocked

    # Reporting -------------------------------------------------------------------------------

    def _column_key(self, sheet: Sheet, field_name: str, message: str) -> str | None:
        if field_name != NON_FIELD_ERRORS:
            column = sheet.column_for_field(field_name)
            return column.key if column else None
        for constraint in sheet.model._meta.constraints:  # unique constraints: point at the last named column
            if isinstance(constraint, models.UniqueConstraint) and str(constraint.violation_error_message) == message:
                keys = [f for f in constraint.fields if f in sheet.by_key]
                if keys:
                    return keys[-1]
        return sheet.key[-1] if sheet.key else "name"

    def report(self, parsed: ParsedSheet, row: Row, exc: ValidationError) -> None:
        by_field = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
        for field_name, errors in by_field.items():
            for message in ValidationError(errors).messages:
                self.issues.append(
                    parsed.issue(row.number, self._column_key(parsed.sheet, field_name, message), message)
                )

    def fail(self, parsed: ParsedSheet, row: Row, obj: models.Model, errors: dict[str, str], blocked: bool) -> None:
        """Report a row's cell errors and whatever else the model finds wrong with the rest."""
        for key, message in errors.items():
            self.issues.append(parsed.issue(row.number, key, message))
        if blocked and not errors:
            return
        skip: set[str] = set()
        for key in [*errors, *row.values]:
            column = parsed.sheet.by_key[key]
            if key in errors or (blocked and column.kind == REF):
                skip.update(PLACE_FIELDS if column.kind in (PLACE_KIND, PLACE_NAME) else {key})
        try:
            obj.full_clean(exclude=sorted(skip))
        except ValidationError as exc:
            self.report(parsed, row, exc)

    # Saving ----------------------------------------------------------------------------------

    def save(self, obj: models.Model, creating: bool) -> None:
        services.save(self.actor, obj, note=NOTE, action=ChangeAction.IMPORT if creating else None)

    def upsert(self, parsed: ParsedSheet, row: Row, obj: models.Model, errors: dict[str, str]) -> bool:
        """Assign, validate and save one row; True when it was saved or needed no change."""
        sheet = parsed.sheet
        counts = self.counts.setdefault(sheet.title, Counts())
        creating = obj.pk is None
        before = None if creating else snapshot(obj)
        blocked = self.assign(sheet, row, obj, errors)
        if errors or blocked:
            self.fail(parsed, row, obj, errors, blocked)
            return False
        if before is not None and snapshot(obj) == before:
            counts.unchanged += 1
            return True
        try:
            self.save(obj, creating)
        except ValidationError as exc:
            self.report(parsed, row, exc)
            return False
        if creating:
            counts.created += 1
        else:
            counts.updated += 1
        return True

    def import_compound(self, parsed: ParsedSheet | None) -> None:
        rows = parsed.rows if parsed else []
        if self.compound is None and not rows:
            message = _("请在“%(sheet)s”工作表中填写小区信息。") % {"sheet": COMPOUND_SHEET}
            self.issues.append(Issue(COMPOUND_SHEET, None, "", "", message))
            return
        if not parsed or not rows:
            return
        for extra in rows[1:]:
            self.issues.append(parsed.issue(extra.number, None, _("只能填写一个小区（一行）。")))
        row = rows[0]
        errors = dict(row.errors)
        obj = Compound.objects.get(pk=self.compound.pk) if self.compound else Compound()
        name = row.values.get("name")
        if self.compound is not None and "name" not in errors and name != obj.name:
            errors["name"] = _("与要导入的小区“%(name)s”不一致；导入已有小区时不能修改小区名称。") % {"name": obj.name}
        if self.upsert(parsed, row, obj, errors):
            self.compound = obj

    def import_parts(self, parsed: ParsedSheet) -> None:
        sheet, index = parsed.sheet, self.index(parsed.sheet.model)
        seen: dict[tuple, int] = {}
        for row in parsed.rows:
            errors = dict(row.errors)
            key = tuple(row.values.get(k) for k in sheet.key)
            if not any(k in errors for k in sheet.key):
                if key in seen:
                    errors[sheet.key[-1]] = _("与第 %(row)d 行重复，名称不能相同。") % {"row": seen[key]}
                else:
                    seen[key] = row.number
            obj = index.get(key) or sheet.model(compound=self.compound)
            if self.upsert(parsed, row, obj, errors):
                index[key] = obj
            else:
                self.failed[sheet.model].add(key)

    def report_unchecked(self, parsed: ParsedSheet) -> None:
        """Without a compound (its row failed) parts cannot be checked beyond their cells."""
        for row in parsed.rows:
            for key, message in row.errors.items():
                self.issues.append(parsed.issue(row.number, key, message))

    def run(self, parsed: dict[str, ParsedSheet]) -> None:
        compound_sheet, *part_sheets = sheets()
        self.import_compound(parsed.get(compound_sheet.title))
        for sheet in part_sheets:
            if sheet.title not in parsed:
                continue
            if self.compound is None:
                self.report_unchecked(parsed[sheet.title])
            else:
                self.import_parts(parsed[sheet.title])


def _read(file: Any, name: str | None) -> tuple[dict[str, ParsedSheet], list[Issue]]:
    parsed: dict[str, ParsedSheet] = {}
    issues: list[Issue] = []
    with reader.opened(file) as handle:
        filename = name or str(getattr(file, "name", None) or getattr(handle, "name", ""))
        reader.check_upload(handle, filename)
        workbook = reader.load(handle)
        try:
            titles = {title.strip(): title for title in workbook.sheetnames}
            for sheet in sheets():
                if sheet.title in titles:
                    parsed[sheet.title], found = reader.read_sheet(workbook[titles[sheet.title]], sheet)
                    issues.extend(found)
        except reader.UploadRejected:
            raise
        except Exception:  # malformed sheet XML surfaces while streaming rows
            raise reader.UploadRejected(_("无法读取该工作簿，请用 Excel 或 WPS 另存为 .xlsx 后再试。")) from None
        finally:
            workbook.close()
    return parsed, issues


def import_workbook(
    actor: Any, file: Any, compound: Compound | None = None, *, name: str | None = None
) -> ImportResult:
    """Import a workbook as a new compound (compound=None, from the 小区 sheet) or into an
    existing one (its parts upserted by name). Raises PermissionDenied when the actor may not
    edit; returns every problem, with nothing saved, when any row is wrong."""
    with translation.override("zh-hans"):
        services.require_edit(actor, compound)
        try:
            parsed, issues = _read(file, name)
        except reader.UploadRejected as exc:
            return ImportResult(issues=[Issue("", None, "", "", str(exc))])
        with transaction.atomic():
            importer = Importer(actor, compound)
            importer.issues.extend(issues)
            importer.run(parsed)
            if importer.issues:
                transaction.set_rollback(True)
                return ImportResult(compound=compound, issues=importer.issues)
        return ImportResult(compound=importer.compound, counts=importer.counts)
