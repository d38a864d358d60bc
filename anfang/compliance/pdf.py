"""Compound compliance report as an A4 PDF (WeasyPrint).

The content is the HTML report's: the same per-article blocks (`views.article_blocks`), laid out
for print, with the facts needed to reproduce it (rule pack and version, snapshot hash, time).
Advisory packs (national standards) are shown apart and never counted as violations. Chinese is
set in Noto Sans CJK SC found through fontconfig (Debian `fonts-noto-cjk`); WeasyPrint embeds
the subset it uses, so the file reads the same on a machine without CJK fonts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.compounds.models import Compound

from .engine import SEVERITY, STATUS_LABELS, RulePack, Status, get_pack
from .models import CompoundAssessment
from .services import latest_advisory
from .views import ArticleBlock, ReportRow, article_blocks

REPORT_TZ = ZoneInfo("Asia/Shanghai")  # the regulation's city; reports always show local time
# Bar and legend order: the verdicts a reader looks for first.
SUMMARY_ORDER = (
    Status.FAIL,
    Status.ERROR,
    Status.UNKNOWN,
    Status.RECOMMENDATION,
    Status.PASS,
    Status.NOT_APPLICABLE,
)


@dataclass
class SummaryItem:
    status: str
    label: str
    count: int
    percent: float


@dataclass
class AdvisorySection:
    result: CompoundAssessment
    pack: RulePack | None
    rows: list[ReportRow]

    @property
    def title(self) -> str:
        return (self.pack.localized_title if self.pack else "") or self.result.assessment.pack_name

    @property
    def summary(self) -> list[SummaryItem]:
        return summary(self.result.status_counts())


def summary(counts: dict[str, int]) -> list[SummaryItem]:
    total = sum(counts.values()) or 1
    return [
        SummaryItem(str(s), str(STATUS_LABELS[s]), counts.get(str(s), 0), 100 * counts.get(str(s), 0) / total)
        for s in SUMMARY_ORDER
    ]


def pack_of(result: CompoundAssessment) -> RulePack | None:
    try:
        return get_pack(result.assessment.pack_name, result.assessment.pack_version)
    except KeyError:  # a pack version no longer shipped: the stored findings still print
        return None


def advisory_section(result: CompoundAssessment) -> AdvisorySection:
    """One row per finding: advisory rules cite a standard's clause, not an article to group by."""
    pack = pack_of(result)
    rank = {s: i for i, s in enumerate(SEVERITY)}
    findings = sorted(result.finding_records, key=lambda f: rank.get(Status(f.status), len(rank)))
    return AdvisorySection(result, pack, [ReportRow(f, pack.rule(f.rule_id) if pack else None) for f in findings])


def css_counter_content(text: str) -> str:
    """Turn "第 {page} 页 / 共 {pages} 页" into a CSS `content` value with page counters."""
    parts = re.split(r"\{(page|pages)\}", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"counter({part})")
        elif part:
            out.append('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)


def report_context(compound: Compound, result: CompoundAssessment) -> dict[str, Any]:
    pack = pack_of(result)
    blocks: list[ArticleBlock] = article_blocks(result)
    counts = result.status_counts()
    return {
        "compound": compound,
        "result": result,
        "regulation": (pack.localized_title if pack else "") or result.assessment.pack_name,
        "report_tz": REPORT_TZ,
        "assessed_at": result.assessed_at,
        "generated_at": timezone.now(),
        "summary": summary(counts),
        "total": sum(counts.values()),
        "failing": [b for b in blocks if b.status in (Status.FAIL, Status.ERROR)],
        "unknown": [b for b in blocks if b.status == Status.UNKNOWN],
        "blocks": blocks,
        "advisory_sections": [advisory_section(r) for r in latest_advisory(compound)],
        "page_counter": css_counter_content(_("第 {page} 页 / 共 {pages} 页")),
    }


def render_html(compound: Compound, result: CompoundAssessment) -> str:
    return render_to_string("compliance/report_pdf.html", report_context(compound, result))


def render_pdf(compound: Compound, result: CompoundAssessment) -> bytes:
    from weasyprint import HTML  # imported here: loading the native libraries is slow and may fail

    base_url = str(settings.BASE_DIR / "anfang" / "compliance" / "static")
    return HTML(string=render_html(compound, result), base_url=base_url).write_pdf()


def content_disposition(
    compound: Compound, when: datetime, *, title: str | None = None, stem: str = "compliance-report"
) -> str:
    """RFC 6266 / 5987: an ASCII fallback name, then the real one in UTF-8. Other reports of a
    compound (the duty record) pass their own `title` and ASCII `stem`."""
    day = timezone.localtime(when, REPORT_TZ).strftime("%Y%m%d")
    name = re.sub(r'[\\/:*?"<>|\s]+', "_", compound.name).strip("_") or str(compound.pk)
    utf8 = f"{title or _('合规报告')}-{name}-{day}.pdf"
    return f"attachment; filename=\"{stem}-{compound.pk}-{day}.pdf\"; filename*=UTF-8''{quote(utf8)}"
