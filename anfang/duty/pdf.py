"""The daily operating record as an A4 PDF (WeasyPrint), the same figures as the page
(present.RecordView). Built like the compliance report (compliance/pdf.py): Noto Sans CJK SC
through fontconfig, embedded as a subset; page numbers from CSS counters; the same download
name scheme."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.compliance.pdf import REPORT_TZ, css_counter_content
from anfang.compliance.pdf import content_disposition as compound_file_name

from .present import RecordView
from .timeline import HOUR_TICKS


def render_html(view: RecordView) -> str:
    context = {
        "view": view,
        "r": view.record,
        "compound": view.record.compound,
        "report_tz": REPORT_TZ,
        "generated_at": timezone.now(),
        "ticks": HOUR_TICKS,
        "page_counter": css_counter_content(_("第 {page} 页 / 共 {pages} 页")),
    }
    return render_to_string("duty/record_pdf.html", context)


def render_pdf(view: RecordView) -> bytes:
    from weasyprint import HTML  # imported here: loading the native libraries is slow and may fail

    return HTML(string=render_html(view), base_url=str(settings.BASE_DIR / "anfang" / "duty")).write_pdf()


def content_disposition(view: RecordView) -> str:
    day_start = dt.datetime.combine(view.record.day, dt.time(), REPORT_TZ)
    return compound_file_name(view.record.compound, day_start, title=_("监控运行记录"), stem="daily-record")
