"""Compound compliance report: HTML and JSON of the latest stored assessment, one block per
article (Art 5–16, 33) with evidence and remedy; a button to assess again. Scope comes from
`Compound.objects.visible_to` (out of scope → 404)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.compounds.models import Compound

from . import services
from .engine import STATUS_LABELS, Rule, Status, cite, cite_zh, get_pack, worst
from .models import CompoundAssessment, StoredFinding


def visible_compound(request: HttpRequest, pk: int) -> Compound:
    return get_object_or_404(Compound.objects.visible_to(request.user), pk=pk)


@dataclass
class ReportRow:
    finding: StoredFinding
    rule: Rule | None

    @property
    def title(self) -> str:
        if self.rule is None:
            return self.finding.rule_id
        return self.rule.title_en if (get_language() or "").startswith("en") else self.rule.title_zh

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[Status(self.finding.status)])

    @property
    def remedy(self) -> str:
        return self.finding.remedy


@dataclass
class ArticleBlock:
    article: int | None
    clause: str
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def citation(self) -> str:
        return cite(self.article, self.clause)

    @property
    def citation_zh(self) -> str:
        return cite_zh(self.article, self.clause)

    @property
    def status(self) -> str:
        return str(worst([r.finding.status for r in self.rows]))

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[Status(self.status)])

    @property
    def excerpt(self) -> str:
        return next((r.rule.excerpt for r in self.rows if r.rule and r.rule.excerpt), "")


def article_blocks(result: CompoundAssessment) -> list[ArticleBlock]:
    """One block per article (per clause for Art 33), in the order of the rule pack."""
    try:
        pack = get_pack(result.assessment.pack_name, result.assessment.pack_version)
    except KeyError:
        pack = None
    blocks: dict[tuple[int | None, str], ArticleBlock] = {}
    for finding in result.finding_records:
        key = (finding.article, finding.clause if finding.article == 33 else "")
        block = blocks.setdefault(key, ArticleBlock(*key))
        block.rows.append(ReportRow(finding, pack.rule(finding.rule_id) if pack else None))
    return list(blocks.values())


def report_json(compound: Compound, result: CompoundAssessment | None) -> dict[str, Any]:
    data: dict[str, Any] = {"compound": {"id": compound.pk, "name": compound.name}, "assessment": None}
    if result is None:
        return data
    a = result.assessment
    data["assessment"] = {
        "id": a.pk,
        "pack": {"name": a.pack_name, "version": a.pack_version, "advisory": a.advisory},
        "assessed_at": result.assessed_at.isoformat(),
        "snapshot_hash": result.snapshot_hash,
        "counts": result.status_counts(),
        "findings": [
            {
                "rule_id": f.rule_id,
                "article": f.article,
                "clause": f.clause,
                "citation": f.citation,
                "citation_zh": f.citation_zh,
                "status": f.status,
                "evidence": f.evidence,
                "remedy": f.remedy,
            }
            for f in result.finding_records
        ],
    }
    return data


def _previous(result: CompoundAssessment) -> CompoundAssessment | None:
    return (
        CompoundAssessment.objects.filter(
            compound_id=result.compound_id,
            assessment__pack_name=result.assessment.pack_name,
            assessed_at__lte=result.assessed_at,
        )
        .exclude(pk=result.pk)
        .order_by("-assessed_at", "-id")
        .first()
    )


@login_required
def compound_report(request: HttpRequest, pk: int) -> HttpResponse:
    compound = visible_compound(request, pk)
    result = services.latest(compound)
    context: dict[str, Any] = {"compound": compound, "result": result, "blocks": [], "changes": None}
    if result is not None:
        context["blocks"] = article_blocks(result)
        previous = _previous(result)
        context["changes"] = services.diff(previous, result) if previous else None
        context["previous"] = previous
    return render(request, "compliance/compound_report.html", context)


@login_required
def compound_report_json(request: HttpRequest, pk: int) -> JsonResponse:
    compound = visible_compound(request, pk)
    return JsonResponse(report_json(compound, services.latest(compound)), json_dumps_params={"ensure_ascii": False})


@login_required
@require_POST
def compound_assess(request: HttpRequest, pk: int) -> HttpResponse:
    compound = visible_compound(request, pk)
    services.assess(request.user, Compound.objects.filter(pk=compound.pk), scope_label=compound.name)
    messages.success(request, _("已完成合规评估。"))
    return redirect("compliance:compound_report", pk=compound.pk)
