"""Reading an uploaded workbook safely: size, name, magic bytes and zip layout are checked
before openpyxl sees a byte; then every sheet is read into parsed rows, each cell either a
value or a message."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import openpyxl
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from . import cells
from .layout import MAX_ROWS, Sheet

MAX_HEADER_COLUMNS = 200
# A small zip can inflate into gigabytes of XML; refuse before openpyxl inflates it.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024


class UploadRejected(Exception):
    """The file is refused as a whole; the message says why."""


@dataclass(frozen=True)
class Issue:
    """One problem: a cell (sheet, row, column), a whole row (no column) or the file (no sheet)."""

    sheet: str
    row: int | None
    column: str  # letter, "" when the problem is not in one cell
    header: str
    message: str

    def __str__(self) -> str:
        where = "!".join(p for p in (self.sheet, f"{self.column}{self.row or ''}") if p)
        return f"{where} {self.header}: {self.message}" if self.header else f"{where} {self.message}".strip()


@dataclass
class Row:
    number: int  # Excel row number
    values: dict[str, Any] = field(default_factory=dict)  # column key -> parsed value
    errors: dict[str, str] = field(default_factory=dict)  # column key -> message


@dataclass
class ParsedSheet:
    sheet: Sheet
    letters: dict[str, str]  # column key -> letter, for the columns present in the file
    rows: list[Row]

    def issue(self, row: int | None, key: str | None, message: str) -> Issue:
        column = self.sheet.by_key.get(key or "")
        letter = self.letters.get(key or "", "")
        return Issue(self.sheet.title, row, letter, column.title if column else "", message)


def _size(fileobj: IO[bytes]) -> int:
    size = getattr(fileobj, "size", None)
    if isinstance(size, int):
        return size
    pos = fileobj.tell()
    fileobj.seek(0, os.SEEK_END)
    end = fileobj.tell()
    fileobj.seek(pos)
    return end


def check_upload(fileobj: IO[bytes], name: str) -> None:
    """Refuse anything that is too big, not named .xlsx, or not an Office Open XML workbook."""
    limit = settings.ANFANG_MAX_UPLOAD_BYTES
    if _size(fileobj) > limit:
        raise UploadRejected(_("文件过大：上限为 %(mb).1f MB。") % {"mb": limit / 1024 / 1024})
    if not name.lower().endswith(".xlsx"):
        raise UploadRejected(_("只接受 Excel 工作簿（.xlsx）文件。"))
    fileobj.seek(0)
    magic = fileobj.read(4)
    fileobj.seek(0)
    if magic != b"PK\x03\x04":
        raise UploadRejected(_("该文件不是有效的 Excel 工作簿（.xlsx）。"))
    try:
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadRejected(_("该文件不是有效的 Excel 工作簿（.xlsx）。")) from None
    finally:
        fileobj.seek(0)
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise UploadRejected(_("该文件不是有效的 Excel 工作簿（.xlsx）。"))
    if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED_BYTES:
        raise UploadRejected(_("工作簿解压后过大，请拆分后再导入。"))


@contextmanager
def opened(file: Any, name: str | None = None) -> Iterator[IO[bytes]]:
    """A path, an uploaded file or a binary file object, opened for reading."""
    if isinstance(file, str | Path):
        with open(file, "rb") as handle:
            yield handle
        return
    if hasattr(file, "open") and hasattr(file, "chunks"):  # Django UploadedFile
        file.open("rb")
    yield file


def load(fileobj: IO[bytes]) -> Any:
    try:
        return openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors on malformed parts
        raise UploadRejected(_("无法读取该工作簿，请用 Excel 或 WPS 另存为 .xlsx 后再试。")) from None


def _header_key(text: Any) -> str:
    return "".join(str(text or "").split()).rstrip("*＊")


def read_sheet(ws: Any, sheet: Sheet) -> tuple[ParsedSheet, list[Issue]]:
    """Parse every data row of one worksheet; cell problems go into each row's errors, problems
    with the sheet itself (missing required column, too many rows) into the returned issues."""
    header = next(ws.iter_rows(min_row=1, max_row=1, max_col=MAX_HEADER_COLUMNS, values_only=True), ())
    wanted = {_header_key(c.header): c for c in sheet.columns}
    positions: dict[str, int] = {}
    for index, text in enumerate(header):
        column = wanted.get(_header_key(text))
        if column and column.key not in positions:
            positions[column.key] = index
    parsed = ParsedSheet(sheet, {k: get_column_letter(i + 1) for k, i in positions.items()}, [])
    issues = [
        Issue(sheet.title, 1, "", c.title, _("缺少必填列“%(header)s”。") % {"header": c.header})
        for c in sheet.columns
        if c.required and c.key not in positions
    ]
    if issues or not positions:
        return parsed, issues
    width = max(positions.values()) + 1
    for number, values in enumerate(ws.iter_rows(min_row=2, max_col=width, values_only=True), start=2):
        if number > MAX_ROWS + 1:
            issues.append(Issue(sheet.title, number, "", "", _("超过每个工作表 %(n)d 行的上限。") % {"n": MAX_ROWS}))
            break
        if all(cells.is_blank(v) for v in values):
            continue
        row = Row(number)
        for key, index in positions.items():
            raw = values[index] if index < len(values) else None
            try:
                row.values[key] = sheet.by_key[key].parse(raw)
            except cells.CellError as exc:
                row.errors[key] = str(exc)
        parsed.rows.append(row)
    return parsed, issues
