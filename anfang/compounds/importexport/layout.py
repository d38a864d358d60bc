"""The workbook layout: one sheet per model, one column per field, all derived from the models'
verbose names so the workbook speaks the same words as the pages. Import, export, the template
and the 说明 sheet are all built from `sheets()`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from anfang.core.choices import OrgKind
from anfang.devices.models import PLACE_FIELDS, Device

from .. import models as m
from . import cells

# Kinds of columns: how a cell is read and written.
TEXT, INT, DECIMAL, BOOL, CHOICE, DATE, REF, ORG, PLACE_KIND, PLACE_NAME = (
    "text",
    "int",
    "decimal",
    "bool",
    "choice",
    "date",
    "ref",
    "org",
    "place_kind",
    "place_name",
)

MAX_ROWS = 20_000  # data rows per sheet
COMPOUND_SHEET = "小区"
README_SHEET = "说明"
OPTIONS_SHEET = "选项"


@dataclass(frozen=True)
class Column:
    key: str  # model field name; "place_kind" / "place_name" for a device's place
    header: str  # without the required mark
    kind: str
    required: bool = False
    empty: Any = None  # the value of a blank cell
    choices: tuple[tuple[str, str], ...] = ()
    decimal_places: int | None = None
    org_kinds: tuple[str, ...] = ()  # ORG columns: which organisation kinds the name is looked up in
    help: str = ""

    @property
    def title(self) -> str:
        """The header cell as written: required columns carry a '*'."""
        return f"{self.header}*" if self.required else self.header

    def parse(self, raw: Any) -> Any:
        """The value of one cell; raises cells.CellError."""
        if cells.is_blank(raw):
            if self.required:
                raise cells.CellError(_("必填，不能为空。"))
            return self.empty
        if self.kind == BOOL:
            return cells.parse_bool(raw)
        if self.kind == INT:
            return cells.parse_int(raw)
        if self.kind == DECIMAL:
            return cells.parse_decimal(raw, self.decimal_places)
        if self.kind == DATE:
            return cells.parse_date(raw)
        if self.kind in (CHOICE, PLACE_KIND):
            return cells.parse_choice(raw, self.choices)
        return cells.parse_text(raw)

    def allowed(self) -> list[str]:
        """The values a dropdown offers."""
        if self.kind == BOOL:
            return [_("是"), _("否")]
        return [label for _code, label in self.choices]


@dataclass(frozen=True)
class Sheet:
    model: type[models.Model]
    title: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ("name",)  # what identifies a row within the compound (upsert, duplicates)
    note: str = ""
    by_key: dict[str, Column] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_key.update({c.key: c for c in self.columns})

    def column_for_field(self, name: str) -> Column | None:
        if name in PLACE_FIELDS and self.model is Device:
            return self.by_key.get("place_name")
        return self.by_key.get(name)


def _empty_value(f: models.Field) -> Any:
    if f.has_default():
        return f.get_default()
    if f.null:
        return None
    return ""


def _help(f: models.Field, extra: str = "") -> str:
    parts = [str(f.help_text)] if f.help_text else []
    if extra:
        parts.append(extra)
    return "；".join(parts)


def col(model: type[models.Model], name: str, *, required: bool | None = None, help: str = "", **kw: Any) -> Column:
    """A column for a model field, its kind and required mark read off the field."""
    f = model._meta.get_field(name)
    assert isinstance(f, models.Field)
    if required is None:
        required = not f.blank and not f.has_default()
    common = {"key": name, "header": str(f.verbose_name), "required": required, "empty": _empty_value(f)}
    if isinstance(f, models.ForeignKey):
        common["empty"] = None
        kind = ORG if f.related_model is m.Organisation else REF
        return Column(kind=kind, help=help, **common, **kw)
    if f.choices:
        choices = tuple((str(code), str(label)) for code, label in f.flatchoices)
        if f.has_default() and not help:
            help = _("留空按默认值：%(v)s") % {"v": dict(choices).get(str(f.get_default()), "")}
        return Column(kind=CHOICE, choices=choices, help=_help(f, help), **common, **kw)
    if isinstance(f, models.BooleanField):
        blank_means = (
            _("留空表示未核查") if f.null else _("留空按默认值：%(v)s") % {"v": _("是") if f.default else _("否")}
        )
        return Column(kind=BOOL, help=_help(f, help or blank_means), **common, **kw)
    if isinstance(f, models.DecimalField):
        return Column(kind=DECIMAL, decimal_places=f.decimal_places, help=_help(f, help), **common, **kw)
    if isinstance(f, models.IntegerField):
        return Column(kind=INT, help=_help(f, help), **common, **kw)
    if isinstance(f, models.DateField):
        return Column(kind=DATE, help=_help(f, help or _("日期，如 2024-03-01")), **common, **kw)
    return Column(kind=TEXT, help=_help(f, help), **common, **kw)


def sheet_title(model: type[models.Model]) -> str:
    # Excel forbids "/" in sheet names: 主要通道/广场 → 主要通道及广场.
    return str(model._meta.verbose_name_plural).replace("/", "及")


def related_model(model: type[models.Model], name: str) -> type[models.Model]:
    f = model._meta.get_field(name)
    assert isinstance(f, models.ForeignKey) and isinstance(f.related_model, type)
    return f.related_model


def place_kinds() -> tuple[tuple[str, str], ...]:
    return tuple((name, str(Device._meta.get_field(name).verbose_name)) for name in PLACE_FIELDS)  # type: ignore[union-attr]


def key_of(sheet: Sheet, obj: models.Model) -> tuple[str, ...]:
    """What identifies an existing object within its compound: names, parents by their name."""
    return tuple(getattr(v, "name", v) for v in (getattr(obj, k) for k in sheet.key))


def place_label(obj: models.Model) -> str:
    """How a device's place is named in the 位置名称 column: its key run together — units and
    elevators as building + name (1号楼2单元), parking entrances as lot + name, others by name."""
    return "".join(key_of(sheet_of(type(obj)), obj))


def _part(model: type[models.Model], *fields: str | Column, key: tuple[str, ...] = ("name",), note: str = "") -> Sheet:
    columns = tuple(c if isinstance(c, Column) else col(model, c) for c in fields)
    return Sheet(model=model, title=sheet_title(model), columns=(*columns, col(model, "note")), key=key, note=note)


def _compound_sheet() -> Sheet:
    C = m.Compound
    org = _("按名称填写，须为平台已登记的组织")
    columns = (
        col(C, "name"),
        col(C, "address"),
        col(C, "latitude"),
        col(C, "longitude"),
        col(C, "police_station", org_kinds=(OrgKind.POLICE_STATION,), help=org),
        col(
            C,
            "community",
            org_kinds=(OrgKind.COMMUNITY,),
            help=_("%(org)s；无物业管理的小区必填（第6条）") % {"org": org},
        ),
        col(
            C,
            "property_company",
            org_kinds=(OrgKind.PROPERTY_COMPANY,),
            help=_("%(org)s；留空表示无物业管理（第5、6条）") % {"org": org},
        ),
        col(C, "property_contract_ref"),
        col(C, "status"),
        col(C, "households"),
        col(C, "area_m2"),
        col(C, "year_built"),
        col(C, "note"),
    )
    return Sheet(model=C, title=COMPOUND_SHEET, columns=columns, key=(), note=_("只填一行：小区本身。"))


def _device_sheet() -> Sheet:
    D = Device
    place_help = _("与“位置名称”配合使用：设备覆盖的部位（第9、11、13条）")
    name_help = _(
        "该部位在对应工作表中的名称；单元、电梯写“楼栋名+名称”（如 1号楼2单元），停车场出入口写“停车场名+名称”"
    )
    columns = (
        col(D, "name"),
        col(D, "subsystem", required=False, help=_("留空按设备类型默认")),
        col(D, "device_type"),
        col(D, "vendor"),
        col(D, "model"),
        col(D, "serial"),
        col(D, "ip_address"),
        col(D, "mac_address"),
        Column(key="place_kind", header=_("位置类型"), kind=PLACE_KIND, choices=place_kinds(), help=place_help),
        Column(key="place_name", header=_("位置名称"), kind=PLACE_NAME, empty="", help=name_help),
        col(D, "location_note"),
        col(D, "resolution_width"),
        col(D, "resolution_height"),
        col(D, "anpr"),
        col(D, "police_linked"),
        col(D, "certificate_kind"),
        col(D, "certificate_number"),
        col(D, "certificate_issuer"),
        col(D, "certificate_valid_until"),
        col(D, "install_date"),
        col(D, "status"),
    )
    return Sheet(model=D, title=sheet_title(D), columns=columns)


@cache
def _sheets(language: str) -> tuple[Sheet, ...]:
    with translation.override(language):
        ref = _("按名称填写：须在“%(sheet)s”工作表中列出或已在平台登记")
        building_ref = ref % {"sheet": sheet_title(m.Building)}
        team_provider = _("按名称填写，须为平台已登记的物业服务企业或社区")
        return (
            _compound_sheet(),
            _part(m.Building, "name", "floors"),
            _part(
                m.Unit,
                col(m.Unit, "building", help=building_ref),
                "name",
                "households",
                "entrance_door_standard",
                "intercom",
                key=("building", "name"),
            ),
            _part(m.Entrance, "name", "role", "traffic", "gate_type", "barrier"),
            _part(m.PerimeterSegment, "name", "barrier", "length_m", "height_m", "electronic_protection"),
            _part(m.ParkingLot, "name", "kind", "spaces"),
            _part(
                m.ParkingEntrance,
                col(m.ParkingEntrance, "parking_lot", help=ref % {"sheet": sheet_title(m.ParkingLot)}),
                "name",
                "barrier",
                key=("parking_lot", "name"),
            ),
            _part(
                m.Elevator,
                col(m.Elevator, "building", help=building_ref),
                "name",
                col(m.Elevator, "unit", help=_("所在楼栋内的单元名称")),
                key=("building", "name"),
            ),
            _part(m.PublicArea, "name", "kind"),
            _part(
                m.DutyRoom,
                "name",
                col(m.DutyRoom, "entrance", help=ref % {"sheet": sheet_title(m.Entrance)}),
                "location",
                "area_m2",
                "relation",
                "is_monitoring_centre",
            ),
            _part(
                m.SecurityTeam,
                "name",
                "kind",
                col(
                    m.SecurityTeam,
                    "provider",
                    org_kinds=(OrgKind.PROPERTY_COMPANY, OrgKind.COMMUNITY),
                    help=team_provider,
                ),
                "headcount",
                "full_time",
                "contract_ref",
                "leader",
                "phone",
            ),
            _part(
                m.HouseholdDoorSurvey,
                "name",
                "surveyed_on",
                "households_surveyed",
                "standard_doors",
                "lock_grade_b_or_above",
            ),
            _device_sheet(),
        )


def sheets() -> tuple[Sheet, ...]:
    """The sheets in workbook order (parents before the parts that name them). The workbook is
    a Chinese document whatever the UI language, so an exported file always re-imports."""
    return _sheets("zh-hans")


def sheet_of(model: type[models.Model]) -> Sheet:
    return next(s for s in sheets() if s.model is model)
