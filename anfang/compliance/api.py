"""Compliance API (`/api/compliance/…`): the rule packs, running an assessment over a scope, and a
compound's latest result, history and diff. Compounds are read through `visible_to` (outside the
scope: 404); running needs a role that may assess (`services.can_assess`, else 403)."""

# No `from __future__ import annotations`: ninja reads the schemas from real annotations.
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from anfang.compounds.models import Compound
from anfang.core.api import actor, visible_or_404
from anfang.core.schemas import Id, PageParams, errors, page_of, paginate

from . import services
from .engine import Rule, RulePack
from .models import Assessment, StoredFinding
from .views import diff_pair, finding_json, result_json, result_summary, rows_of

router = Router(tags=["compliance"])

PackName = Literal[tuple(p.name for p in services.packs())]  # type: ignore[valid-type]
Scope = Literal["compound", "station", "district", "city"]


# ---------------------------------------------------------------- schemas


class RuleOut(Schema):
    id: str
    article: int | None = Field(description="《办法》条款号；国家标准的规则为 null")
    clause: str
    citation: str
    citation_zh: str
    title_zh: str
    title_en: str
    remedy_zh: str
    remedy_en: str
    level: str = Field(description="mandatory = 应当，encouraged = 鼓励（不满足时为建议）")


class PackOut(Schema):
    name: str
    version: str
    advisory: bool = Field(description="参考性规则包（国家标准）：结论不计入违规")
    title: str
    rules: list[RuleOut]


class PackRef(Schema):
    name: str
    version: str
    advisory: bool


class FindingOut(Schema):
    rule_id: str
    article: int | None
    clause: str
    citation: str
    citation_zh: str
    title: str
    status: str
    evidence: list[str]
    remedy: str = Field(description="整改建议；符合或不适用时为空")


class ResultSummaryOut(Schema):
    id: int = Field(description="小区评估结果 id（history / diff 的 a、b）")
    assessment_id: int
    pack: PackRef
    assessed_at: datetime
    snapshot_hash: str
    counts: dict[str, int] = Field(description="各状态结论数")


class ResultOut(ResultSummaryOut):
    findings: list[FindingOut]


class LatestOut(ResultOut):
    advisory: list[ResultOut] = Field(description="各参考性规则包的最新结论，另列，不计入违规")


class ChangeOut(Schema):
    rule_id: str
    before: str | None
    after: str | None


class DiffOut(Schema):
    a: ResultSummaryOut
    b: ResultSummaryOut
    new_failures: list[FindingOut]
    fixed: list[FindingOut]
    still_failing: list[FindingOut]
    changed: list[ChangeOut]


class AssessIn(Schema):
    scope: Scope = Field(description="compound = 单个小区；station / district / city = 该派出所、分局、市局辖区")
    id: Id = Field(description="小区 id，或派出所、分局、市局的组织 id")
    pack: PackName | None = Field(None, description="规则包；省略时运行全部规则包（参考性的另存）")  # type: ignore[valid-type]


class AssessmentOut(Schema):
    id: int
    scope_label: str
    pack: PackRef
    started_at: datetime
    finished_at: datetime | None
    compounds_count: int
    counts: dict[str, int]


# ---------------------------------------------------------------- helpers


def _rule_out(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "article": rule.article,
        "clause": rule.clause,
        "citation": rule.citation,
        "citation_zh": rule.citation_zh,
        "title_zh": rule.title_zh,
        "title_en": rule.title_en,
        "remedy_zh": rule.remedy,
        "remedy_en": rule.remedy_en,
        "level": str(rule.level),
    }


def _pack_out(pack: RulePack) -> dict[str, Any]:
    return {
        "name": pack.name,
        "version": pack.version,
        "advisory": pack.advisory,
        "title": pack.localized_title,
        "rules": [_rule_out(r) for r in pack.rules],
    }


def _assessment_out(a: Assessment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "scope_label": a.scope_label,
        "pack": {"name": a.pack_name, "version": a.pack_version, "advisory": a.advisory},
        "started_at": a.started_at,
        "finished_at": a.finished_at,
        "compounds_count": a.compounds_count,
        "counts": a.counts,
    }


def _compound(request: HttpRequest, compound_id: int) -> Compound:
    return visible_or_404(Compound.objects.visible_to(actor(request)), pk=compound_id)


def _change(before: StoredFinding | None, after: StoredFinding | None) -> dict[str, Any]:
    rule_id = after.rule_id if after else before.rule_id if before else ""
    return {"rule_id": rule_id, "before": before and before.status, "after": after and after.status}


# ---------------------------------------------------------------- endpoints


@router.get("/packs", response={200: list[PackOut], **errors()}, summary="规则包及其规则（最新版本）")
def list_packs(request: HttpRequest) -> list[dict[str, Any]]:
    return [_pack_out(p) for p in services.packs()]


@router.post(
    "/assessments",
    response={201: list[AssessmentOut], **errors(403, 404)},
    summary="评估一个范围内（按权限）的小区",
    description=(
        "只评估范围内您可见、且经由有评估权限的角色（民警、社区/物业管理员、平台管理员）所辖的小区。"
        "范围内没有可见的小区时 404；值班员、保安等无评估权限时 403。"
    ),
)
def run_assessment(request: HttpRequest, payload: AssessIn) -> Status:
    user = actor(request)
    if not services.can_assess(user):
        raise HttpError(403, gettext("您没有发起合规评估的权限。"))
    label, targets = services.compounds_in(payload.scope, payload.id)
    visible = services.scoped(user, targets)
    if not visible.exists():
        raise HttpError(404, gettext("该范围内没有您可见的小区。"))
    compounds = services.assessable(user, visible)
    if not compounds.exists():
        raise HttpError(403, gettext("您没有发起合规评估的权限。"))
    if payload.pack:
        done = [services.assess(user, compounds, services.get_pack(payload.pack), scope_label=label)]
    else:
        done = services.assess_all(user, compounds, scope_label=label)
    return Status(201, [_assessment_out(a) for a in done])


@router.get(
    "/compounds/{compound_id}/latest",
    response={200: LatestOut, **errors(404)},
    summary="小区最新的合规评估结论",
    description="尚未评估或不在权限范围内时 404。参考性规则包（国家标准）的结论另列在 advisory。",
)
def latest(request: HttpRequest, compound_id: Id) -> dict[str, Any]:
    compound = _compound(request, compound_id)
    result = services.latest(compound)
    if result is None:
        raise HttpError(404, gettext("该小区尚未进行合规评估。"))
    return {**result_json(result), "advisory": [result_json(r) for r in services.latest_advisory(compound)]}


@router.get(
    "/compounds/{compound_id}/history",
    response={200: page_of(ResultSummaryOut), **errors(404)},
    summary="小区的评估历史（新的在前）",
)
def history(request: HttpRequest, compound_id: Id, page: Query[PageParams]) -> dict[str, Any]:
    result = paginate(services.history(_compound(request, compound_id)), page)
    return {**result, "items": [result_summary(r) for r in result["items"]]}


@router.get(
    "/compounds/{compound_id}/diff",
    response={200: DiffOut, **errors(404)},
    summary="比较小区的两次评估",
    description="a、b 为评估历史中的 id；省略 b 为最新一次，省略 a 为 b 的前一次。不足两次评估时 404。",
)
def diff(request: HttpRequest, compound_id: Id, a: Id | None = None, b: Id | None = None) -> dict[str, Any]:
    pair = diff_pair(_compound(request, compound_id), a, b)
    if pair is None:
        raise HttpError(404, gettext("至少需要两次评估才能比较。"))
    old, new = pair
    changes = services.diff(old, new)

    def listed(findings: list[StoredFinding]) -> list[dict[str, Any]]:  # as they read in `b`
        return [finding_json(row) for row in rows_of(new, findings)]

    return {
        "a": result_summary(old),
        "b": result_summary(new),
        "new_failures": listed(changes.new_failures),
        "fixed": listed(changes.fixed),
        "still_failing": listed(changes.still_failing),
        "changed": [_change(before, after) for before, after in changes.changed],
    }
