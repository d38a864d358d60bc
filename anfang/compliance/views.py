"""Compound compliance report: HTML and JSON of the latest stored assessment, one block per
article (Art 5–16, 33) with evidence and remedy, the advisory packs (national standards) apart;
a button to assess again; the compound's history with a trend, and the diff of two assessments.
Scope comes from `Compound.objects.visible_to` (out of scope → 404)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anfang.compounds.models import Compound

from . import services
from .engine import STATUS_LABELS, Cited, Rule, RulePack, Status, english, get_pack, worst
from .models import CompoundAssessment, StoredFinding


def visible_compound(request: HttpRequest, pk: int) -> Compound:
    return get_object_or_404(Compound.objects.visible_to(request.user), pk=pk)


@dataclass
class ReportRow:
    finding: StoredFinding
    rule: Rule | None

    @property
    def title(self) -> str:
        """In the active language, from the pack version the assessment used."""
        return self.finding.rule_id if self.rule is None else self.rule.title

    @property
    def citation_local(self) -> str:
        # An advisory rule cites its standard's clause, not an article.
        return self.rule.citation_local if self.rule else self.finding.citation_local

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[Status(self.finding.status)])

    @property
    def remedy(self) -> str:
        # Nothing to remedy where the rule is met or does not apply (as in the PDF).
        return "" if self.finding.status in (Status.PASS, Status.NOT_APPLICABLE) else self.finding.remedy


@dataclass
class ArticleBlock(Cited):
    article: int | None
    clause: str
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def citation_secondary(self) -> str:
        """The English citation shown beside the Chinese one (nothing more in English)."""
        return "" if english() else self.citation

    @property
    def status(self) -> str:
        return str(worst([r.finding.status for r in self.rows]))

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[Status(self.status)])

    @property
    def excerpt(self) -> str:
        return next((r.rule.excerpt for r in self.rows if r.rule and r.rule.excerpt), "")


def rows_of(result: CompoundAssessment, findings: list[StoredFinding] | None = None) -> list[ReportRow]:
    """The findings (all of the result's by default) with their rules from the pack version used."""
    try:
        pack: RulePack | None = get_pack(result.assessment.pack_name, result.assessment.pack_version)
    except KeyError:  # a pack version no longer shipped: the stored findings still show
        pack = None
    records = result.finding_records if findings is None else findings
    return [ReportRow(f, pack.rule(f.rule_id) if pack else None) for f in records]


def article_blocks(result: CompoundAssessment) -> list[ArticleBlock]:
    """One block per article (per clause for Art 33), in the order of the rule pack."""
    blocks: dict[tuple[int | None, str], ArticleBlock] = {}
    for row in rows_of(result):
        key = (row.finding.article, row.finding.clause if row.finding.article == 33 else "")
        blocks.setdefault(key, ArticleBlock(*key)).rows.append(row)
    return list(blocks.values())


def advisory_sections(compound: Compound) -> list[Any]:
    """The newest result of each advisory pack, one row per finding, worst first."""
    from .pdf import advisory_section  # pdf.py builds on this module: imported late

    return [advisory_section(r) for r in services.latest_advisory(compound)]


def finding_json(row: ReportRow) -> dict[str, Any]:
    f = row.finding
    return {
        "rule_id": f.rule_id,
        "article": f.article,
        "clause": f.clause,
        # An advisory rule cites its standard's clause, not an article.
        "citation": row.rule.citation if row.rule else f.citation,
        "citation_zh": row.rule.citation_zh if row.rule else f.citation_zh,
        "title": row.title,
        "status": f.status,
        "evidence": f.evidence,
        "remedy": row.remedy,
    }


def result_summary(result: CompoundAssessment) -> dict[str, Any]:
    """An assessment of one compound without its findings (those may be deferred)."""
    a = result.assessment
    return {
        "id": result.pk,
        "assessment_id": a.pk,
        "pack": {"name": a.pack_name, "version": a.pack_version, "advisory": a.advisory},
        "assessed_at": result.assessed_at,
        "snapshot_hash": result.snapshot_hash,
        "counts": result.status_counts(),
    }


def result_json(result: CompoundAssessment) -> dict[str, Any]:
    return {**result_summary(result), "findings": [finding_json(row) for row in rows_of(result)]}


def report_json(compound: Compound, result: CompoundAssessment | None) -> dict[str, Any]:
    data: dict[str, Any] = {"compound": {"id": compound.pk, "name": compound.name}, "assessment": None}
    if result is not None:  # `id` is the assessment's, as it always was; the compound result is `result_id`
        data["assessment"] = {**result_json(result), "id": result.assessment_id, "result_id": result.pk}
    data["advisory"] = [result_json(r) for r in services.latest_advisory(compound)]
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


def regulation_title(result: CompoundAssessment | None) -> str:
    """The title of the pack the result was judged by, in the active language."""
    if result is None:
        return ""
    try:
        return get_pack(result.assessment.pack_name, result.assessment.pack_version).localized_title
    except KeyError:  # a pack version no longer shipped
        return result.assessment.pack_name


def _assessable(request: HttpRequest, compound: Compound) -> QuerySet[Compound]:
    return services.assessable(request.user, Compound.objects.filter(pk=compound.pk))


@login_required
def compound_report(request: HttpRequest, pk: int) -> HttpResponse:
    compound = visible_compound(request, pk)
    result = services.latest(compound)
    context: dict[str, Any] = {
        "compound": compound,
        "result": result,
        "regulation": regulation_title(result),
        "blocks": [],
        "changes": None,
        "advisory_sections": advisory_sections(compound),
        "can_assess": _assessable(request, compound).exists(),
    }
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
    compounds = _assessable(request, compound)
    if not compounds.exists():
        raise PermissionDenied
    services.assess_all(request.user, compounds, scope_label=compound.name)
    messages.success(request, _("已完成合规评估。"))
    return redirect("compliance:compound_report", pk=compound.pk)


# ---------------------------------------------------------------- history and diff

TREND_WIDTH, TREND_HEIGHT, TREND_POINTS = 600, 120, 60
HISTORY_PAGE = 50


@dataclass
class Trend:
    """Fails and unknowns over the newest assessments, oldest left, as SVG polyline points."""

    fail: str
    unknown: str
    peak: int
    width: int = TREND_WIDTH
    height: int = TREND_HEIGHT


def trend(newest_first: list[tuple[int, int]]) -> Trend | None:
    """From (fails, unknowns) per assessment, newest first."""
    if len(newest_first) < 2:
        return None
    ordered = newest_first[::-1]
    peak = max(max(pair) for pair in ordered) or 1
    step = TREND_WIDTH / (len(ordered) - 1)

    def points(i: int) -> str:
        return " ".join(f"{x * step:.1f},{TREND_HEIGHT * (1 - pair[i] / peak):.1f}" for x, pair in enumerate(ordered))

    return Trend(points(0), points(1), peak)


@dataclass
class HistoryRow:
    result: CompoundAssessment
    previous: CompoundAssessment | None

    @property
    def counts(self) -> list[tuple[str, str, int]]:
        return [(str(s), str(STATUS_LABELS[s]), getattr(self.result, f"n_{s}")) for s in Status]


@login_required
def compound_history(request: HttpRequest, pk: int) -> HttpResponse:
    compound = visible_compound(request, pk)
    history = services.history(compound)
    page = Paginator(history, HISTORY_PAGE).get_page(request.GET.get("page"))
    # One row more than the page: the last row links to the diff with the assessment before it.
    offset = (page.number - 1) * HISTORY_PAGE
    results = list(history[offset : offset + HISTORY_PAGE + 1])
    rows = [HistoryRow(r, results[i + 1] if i + 1 < len(results) else None) for i, r in enumerate(results)]
    context = {
        "compound": compound,
        "page": page,
        "rows": rows[:HISTORY_PAGE],
        "trend": trend(list(history.values_list("n_fail", "n_unknown")[:TREND_POINTS])),
    }
    return render(request, "compliance/compound_history.html", context)


def diff_pair(compound: Compound, a: int | None, b: int | None) -> tuple[CompoundAssessment, CompoundAssessment] | None:
    """The two results to compare, each one of the compound's (any other id: 404): `b` or the
    newest, and `a` or the one before `b`. None when there are not two."""
    results = services.history(compound).defer(None)
    new = get_object_or_404(results, pk=b) if b else results.first()
    if new is None:
        return None
    earlier = Q(assessed_at__lt=new.assessed_at) | Q(assessed_at=new.assessed_at, pk__lt=new.pk)
    old = get_object_or_404(results, pk=a) if a else results.filter(earlier).first()
    return (old, new) if old else None


def _id_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name)
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:  # not an id: nothing to find
        raise Http404
    return int(value)


@login_required
def compound_diff(request: HttpRequest, pk: int) -> HttpResponse:
    compound = visible_compound(request, pk)
    pair = diff_pair(compound, _id_param(request, "a"), _id_param(request, "b"))
    old, new = pair or (None, None)
    context: dict[str, Any] = {"compound": compound, "old": old, "new": new, "sections": []}
    if old is not None and new is not None:
        changes = services.diff(old, new)
        context["sections"] = [
            ("new", _("新增不符合"), rows_of(new, changes.new_failures)),
            ("fixed", _("已整改"), rows_of(new, changes.fixed)),
            ("still", _("仍不符合"), rows_of(new, changes.still_failing)),
        ]
    return render(request, "compliance/compound_diff.html", context)
