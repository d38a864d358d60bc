"""Export files, watermarked with who exported them and when (Art 33(5): a leaked file names its
source). Tables: Excel (a header/footer line on every printed page, a first line above the table and
document properties) or CSV (a first and a last line); pictures: the text drawn on each picture and
put in the ZIP comment."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Font
from PIL import Image, ImageDraw, ImageFont

# Debian fonts-noto-cjk; the first one found is used (a watermark must show Chinese names).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
WATERMARK_PROPERTY = "anfang-watermark"


@dataclass(frozen=True)
class Watermark:
    """Who asked, who approved, when the file was made, for which request."""

    requester: str
    approver: str
    at: dt.datetime
    request_id: int | str
    label: str = "营口安防平台导出"

    @property
    def text(self) -> str:
        stamp = self.at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"{self.label} 申请人 {self.requester} 审批人 {self.approver} 导出时间 {stamp} "
            f"申请编号 {self.request_id} 第33条第5项 不得外泄"
        )

    @property
    def properties(self) -> dict[str, str]:
        return {
            "requester": self.requester,
            "approver": self.approver,
            "exported_at": self.at.isoformat(timespec="seconds"),
            "request_id": str(self.request_id),
        }


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, (dict, list)):
        return str(value)
    return value


def write_xlsx(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str, watermark: Watermark | None = None
) -> tuple[bytes, int]:
    """The workbook and its number of data rows. With a watermark: a first line above the table,
    the header and footer of every printed page, the document's creator/description and custom
    properties."""
    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    if watermark:
        sheet.append([watermark.text])
        sheet["A1"].font = Font(bold=True, color="C00000")
        sheet.oddHeader.center.text = watermark.text
        sheet.oddFooter.center.text = watermark.text + " &P/&N"
        book.properties.creator = watermark.requester
        book.properties.lastModifiedBy = watermark.approver
        book.properties.description = watermark.text
        book.properties.keywords = f"request:{watermark.request_id}"
        book.custom_doc_props.append(StringProperty(name=WATERMARK_PROPERTY, value=watermark.text))
        for name, value in watermark.properties.items():
            book.custom_doc_props.append(StringProperty(name=f"anfang-{name}", value=value))
    sheet.append(list(headers))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = f"A{sheet.max_row + 1}"
    count = 0
    for row in rows:
        sheet.append([_cell(v) for v in row])
        count += 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), count


def write_csv(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, watermark: Watermark | None = None
) -> tuple[bytes, int]:
    """UTF-8 with BOM (Excel opens it right); with a watermark as the first and the last line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if watermark:
        writer.writerow([f"# {watermark.text}"])
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
        count += 1
    if watermark:
        writer.writerow([f"# {watermark.text}"])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8"), count


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in CJK_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def watermark_picture(data: bytes, watermark: Watermark) -> bytes:
    """The picture with the watermark drawn across its bottom (a band so it reads on any image)
    and kept in its metadata; same format as it came."""
    with Image.open(io.BytesIO(data)) as original:
        fmt = original.format or "JPEG"
        image = original.convert("RGB")
    width, height = image.size
    size = max(10, min(32, width // 48))
    font = _font(size)
    draw = ImageDraw.Draw(image, "RGBA")
    lines = _wrap(draw, watermark.text, font, width - 2 * size)
    band = (size + 4) * len(lines) + size // 2
    draw.rectangle((0, height - band, width, height), fill=(0, 0, 0, 150))
    y = height - band + size // 4
    for line in lines:
        draw.text((size // 2, y), line, font=font, fill=(255, 255, 255, 255))
        y += size + 4
    buffer = io.BytesIO()
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_itxt("Comment", watermark.text)
        image.save(buffer, "PNG", pnginfo=info)
    else:
        image.save(buffer, "JPEG", quality=90, comment=watermark.text.encode("utf-8"))
    return buffer.getvalue()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    lines, current = [], ""
    for char in text:
        if current and draw.textlength(current + char, font=font) > width:
            lines.append(current)
            current = char
        else:
            current += char
    return [*lines, current] if current else lines


def write_zip(files: Iterable[tuple[str, bytes]], *, watermark: Watermark | None = None) -> tuple[bytes, int]:
    """A ZIP of the (already watermarked) files, the watermark as the archive comment and as a
    text file inside."""
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        seen: set[str] = set()
        for name, data in files:
            unique, n = name, 1
            while unique in seen:
                stem, dot, ext = name.rpartition(".")
                unique = f"{stem}-{n}{dot}{ext}" if dot else f"{name}-{n}"
                n += 1
            seen.add(unique)
            archive.writestr(unique, data)
            count += 1
        if watermark:
            archive.writestr("WATERMARK.txt", watermark.text + "\n")
            archive.comment = watermark.text.encode("utf-8")[:65535]
    return buffer.getvalue(), count
