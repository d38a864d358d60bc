"""Printable QR label sheets for patrol checkpoints (Art 10: the route is fixed by checkpoints a
guard must read). One A4 page holds 3 × 4 labels of 60 × 66 mm; each label carries the QR code of
the checkpoint's code, the code in plain text (a guard whose camera fails types it on the phone
page), the checkpoint's name, place and compound. The QR code is drawn by segno as SVG, so it stays
sharp at any print size; WeasyPrint lays the sheet out like the other reports (Noto Sans CJK SC)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.compliance.pdf import REPORT_TZ

PER_PAGE = 12  # 3 columns × 4 rows on A4


@dataclass(frozen=True)
class Label:
    code: str
    name: str
    place: str
    compound: str

    @property
    def qr(self) -> str:
        """The QR code as an SVG data URI. Error correction M (15 %): a scuffed outdoor label still reads."""
        return segno.make(self.code, error="m", boost_error=False).svg_data_uri(scale=1, border=2, dark="#000")


def render_html(labels: Iterable[Label]) -> str:
    items = list(labels)
    pages = [items[i : i + PER_PAGE] for i in range(0, len(items), PER_PAGE)]
    return render_to_string(
        "patrol/labels_pdf.html", {"pages": pages, "generated_at": timezone.localtime(timezone.now(), REPORT_TZ)}
    )


def render_pdf(labels: Iterable[Label]) -> bytes:
    from weasyprint import HTML  # imported here: loading the native libraries is slow and may fail

    return HTML(string=render_html(labels), base_url=str(settings.BASE_DIR / "anfang" / "patrol")).write_pdf()


def content_disposition(compound_name: str) -> str:
    day = timezone.localtime(timezone.now(), REPORT_TZ).strftime("%Y%m%d")
    utf8 = f"{_('巡查点标签')}-{compound_name}-{day}.pdf"
    return f"attachment; filename=\"patrol-labels-{day}.pdf\"; filename*=UTF-8''{quote(utf8)}"
