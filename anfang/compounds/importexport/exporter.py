"""Export a compound into the import layout, and the blank template: the same builder, so what
is exported can be edited and imported back unchanged."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from anfang.devices.models import Device

from ..models import Compound
from .layout import (
    BOOL,
    CHOICE,
    DATE,
    MAX_ROWS,
    OPTIONS_SHEET,
    ORG,
    PLACE_KIND,
    PLACE_NAME,
    README_SHEET,
    REF,
    Column,
    Sheet,
    place_kinds,
    place_label,
    sheets,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FONT = Font(bold=True)
REQUIRED_FILL = PatternFill("solid", fgColor="FDE9D9")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def cell_value(column: Column, obj: models.Model) -> Any:
    """What a cell shows for one field of an object; blank for empty values."""
    if column.kind == PLACE_KIND:
        kind = next((f for f, _label in place_kinds() if getattr(obj, f"{f}_id")), None)
        return dict(place_kinds())[kind] if kind else None
    if column.kind == PLACE_NAME:
        place = obj.place if isinstance(obj, Device) else None
        return place_label(place) if place else None
    value = getattr(obj, column.key)
    if value is None or value == "":
        return None
    if column.kind in (REF, ORG):
        return value.name
    if column.kind == BOOL:
        return _("是") if value else _("否")
    if column.kind == CHOICE:
        return dict(column.choices).get(value, value)
    return value


def _readme(ws: Worksheet, layout: tuple[Sheet, ...]) -> None:
    limit_mb = settings.ANFANG_MAX_UPLOAD_BYTES / 1024 / 1024
    rules = [
        _("小区安防设施登记表（营政发〔2015〕42号）— 填写说明"),
        _(
            "1. 每个工作表登记一类对象；第一行是表头，请勿修改表头文字。列的顺序可以调整；不需要的非必填列可以删除，删除的列导入时保持原值不变。"
        ),
        _("2. 表头带 * 的列为必填。"),
        _("3. 是/否列填写“是”或“否”；留空表示未核查，合规检查按“未知”处理，不视为合格。有默认值的列留空时按默认值。"),
        _("4. 选择列可从下拉列表中选择，也可填写下表所列的代码。"),
        _(
            "5. 引用其他对象时填写其名称：单元、电梯填写所在楼栋；停车场出入口填写停车场；设备的安装部位填写“位置类型”和“位置名称”。"
        ),
        _(
            "6. 导入已有小区时按名称更新已登记的记录、新增未登记的记录，不会删除工作簿中没有的记录；内容未变的行不产生变更记录。"
        ),
        _(
            "7. 导入要么全部生效，要么全部不生效：只要有一个单元格有误，系统会列出所有错误（工作表、行、列、原因），改正后重新导入即可。"
        ),
        _("8. 每个工作表最多 %(rows)d 行，文件不超过 %(mb).0f MB，只接受 .xlsx 格式。")
        % {"rows": MAX_ROWS, "mb": limit_mb},
    ]
    for text in rules:
        ws.append([text])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    header = [_("工作表"), _("列"), _("必填"), _("说明"), _("可选值（或代码）")]
    ws.append(header)
    table_start = ws.max_row
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for sheet in layout:
        if sheet.note:
            ws.append([sheet.title, "", "", sheet.note])
        for column in sheet.columns:
            allowed = "；".join(f"{label}（{code}）" for code, label in column.choices)
            if column.kind == BOOL:
                allowed = _("是；否；留空")
            ws.append([sheet.title, column.header, _("是") if column.required else "", column.help, allowed])
    for letter, width in zip("ABCDE", (18, 22, 6, 70, 60), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=table_start):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _options(wb: Workbook, layout: tuple[Sheet, ...]) -> dict[tuple[str, str], str]:
    """A hidden sheet with every dropdown list; returns (sheet, column key) -> range formula."""
    ws = wb.create_sheet(OPTIONS_SHEET)
    ranges: dict[tuple[str, str], str] = {}
    index = 0
    for sheet in layout:
        for column in sheet.columns:
            values = column.allowed()
            if not values:
                continue
            index += 1
            letter = get_column_letter(index)
            ws.cell(row=1, column=index, value=f"{sheet.title}.{column.header}")
            for row, value in enumerate(values, start=2):
                ws.cell(row=row, column=index, value=value)
            ranges[(sheet.title, column.key)] = (
                f"{quote_sheetname(OPTIONS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"
            )
    ws.sheet_state = "hidden"
    return ranges


def _data_sheet(wb: Workbook, sheet: Sheet, ranges: dict[tuple[str, str], str]) -> Worksheet:
    ws = wb.create_sheet(sheet.title)
    ws.append([c.title for c in sheet.columns])
    ws.freeze_panes = "A2"
    for index, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index)
        cell.font, cell.fill = HEADER_FONT, REQUIRED_FILL if column.required else HEADER_FILL
        ws.column_dimensions[letter].width = max(10, min(40, len(column.header) * 2 + 4))
        formula = ranges.get((sheet.title, column.key))
        if formula:
            check = DataValidation(type="list", formula1=formula, allow_blank=True)
            check.error, check.errorStyle = _("请从下拉列表中选择，或填写说明页中的代码。"), "warning"
            check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            ws.add_data_validation(check)
    return ws


def _objects(sheet: Sheet, compound: Compound) -> models.QuerySet:
    if sheet.model is Compound:
        return Compound.objects.filter(pk=compound.pk).select_related("police_station", "community", "property_company")
    order = [f"{k}__name" if k != "name" else k for k in sheet.key]
    related = [c.key for c in sheet.columns if c.kind in (REF, ORG)]
    if sheet.model is Device:
        related += [f for f, _label in place_kinds()]
    qs = sheet.model._default_manager.filter(compound=compound).select_related(*related)
    return qs.order_by(*order, "pk")


def build_workbook(compound: Compound | None = None) -> Workbook:
    """The template (no compound) or a compound's full registry, with the 说明 sheet first."""
    with translation.override("zh-hans"):
        layout = sheets()
        wb = Workbook()
        readme = wb.active
        readme.title = README_SHEET
        ranges = _options(wb, layout)
        for sheet in layout:
            ws = _data_sheet(wb, sheet, ranges)
            if compound is None:
                continue
            for obj in _objects(sheet, compound):
                ws.append([cell_value(c, obj) for c in sheet.columns])
                for index, column in enumerate(sheet.columns, start=1):
                    if column.kind == DATE and isinstance(getattr(obj, column.key), dt.date):
                        ws.cell(row=ws.max_row, column=index).number_format = "yyyy-mm-dd"
        wb.move_sheet(OPTIONS_SHEET, offset=len(wb.sheetnames))
        _readme(readme, layout)
        return wb


def export_compound(actor: Any, compound: Compound) -> Workbook:
    """A compound's registry for anyone who may see it (police included); actor None: system."""
    if actor is not None and not Compound.objects.visible_to(actor).filter(pk=compound.pk).exists():
        raise PermissionDenied(_("您无权查看该小区。"))
    return build_workbook(compound)


def to_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
