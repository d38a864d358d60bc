"""The compliance engine: rules are pure functions of a `Snapshot`, grouped in versioned packs.

A rule returns `(status, evidence)`, the evidence a list of lines (`evidence.py`: text that is
shown in the reader's language and stored language-neutral); the engine wraps it into a `Finding` with the rule's
metadata. Guarantees:

- a rule that raises becomes an `error` finding carrying the exception text; the run goes on;
- an encouraged rule (Art 14's "鼓励") never fails: its `fail` becomes `recommendation`;
- a rule that answers `unknown` must say which data is missing — the engine refuses an
  `unknown` (or `fail`) without evidence by turning it into `error`, so no silent verdict
  slips through.

How "nothing registered" is told apart from "registered and absent" (see `Presence`):

- The **site registry** of a compound counts as surveyed once it holds at least one building
  and at least one entrance. Before that, an empty list proves nothing and every rule that
  needs the list answers `unknown` ("未登记…").
- Parts the regulation requires to exist (entrances, perimeter segments, the duty room, the
  guard force / patrol team): an empty list is `fail` when the site registry is surveyed,
  `unknown` otherwise.
- Parts a compound may legitimately lack (parking lots, elevators, main roads/squares): an
  empty list is `not_applicable` when the site registry is surveyed, `unknown` otherwise.
  Elevators are the exception that can be checked: a building of 7 floors or more must have
  lifts (GB 50096-2011 §6.4.1), so no registered lift there is `unknown`, never n/a.
- The **device inventory** counts as surveyed once the compound has any device registered.
  Before that, every rule about devices (Art 7, 8, 9, 10, 11) answers `unknown`; after it,
  a place without the device it needs is `fail`.
- A nullable registry field left empty (`None` / "") means "not surveyed" → `unknown` naming
  the place and the field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter
from typing import Any, NamedTuple

from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext_lazy as _

from .evidence import Line, render_all
from .snapshot import Snapshot


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"
    RECOMMENDATION = "recommendation"


STATUS_LABELS = {
    Status.PASS: _("符合"),
    Status.FAIL: _("不符合"),
    Status.UNKNOWN: _("无法判断"),
    Status.NOT_APPLICABLE: _("不适用"),
    Status.ERROR: _("规则出错"),
    Status.RECOMMENDATION: _("建议"),
}
# Worst first: how an article's findings combine into one status on the report.
SEVERITY = (
    Status.ERROR,
    Status.FAIL,
    Status.UNKNOWN,
    Status.RECOMMENDATION,
    Status.PASS,
    Status.NOT_APPLICABLE,
)


class Level(StrEnum):
    MANDATORY = "mandatory"  # 应当
    ENCOURAGED = "encouraged"  # 鼓励


Outcome = tuple[Status, list[str]]
RuleFunc = Callable[[Snapshot], Outcome]


class Cited:
    """The citations of anything that names an article and clause (rules, findings, report
    blocks, dashboard rows): "Art. 9(1)", "第9条第1项", and whichever the active language uses."""

    article: int | None
    clause: str

    @property
    def citation(self) -> str:
        return cite(self.article, self.clause)

    @property
    def citation_zh(self) -> str:
        return cite_zh(self.article, self.clause)

    @property
    def citation_local(self) -> str:
        # Through the two properties, so a subclass citing otherwise (a standard's clause) is followed.
        return self.citation if english() else self.citation_zh


@dataclass(frozen=True)
class Rule(Cited):
    id: str
    article: int | None  # None: a data-quality rule, not from an article
    clause: str  # "" for the whole article, "1".."5" for Art 33(1)…
    title_zh: str
    title_en: str
    excerpt: str  # quoted verbatim from the regulation
    remedy: str  # zh-Hans
    func: RuleFunc
    level: Level = Level.MANDATORY
    remedy_en: str = ""

    @property
    def title(self) -> str:
        """In the active language."""
        return self.title_en if english() else self.title_zh

    @property
    def remedy_text(self) -> str:
        """In the active language (zh-Hans where no English was written)."""
        return (self.remedy_en or self.remedy) if english() else self.remedy


def english() -> bool:
    return (get_language() or "").startswith("en")


def cite(article: int | None, clause: str = "") -> str:
    if article is None:
        return "Data quality"
    return f"Art. {article}" + (f"({clause})" if clause else "")


def cite_zh(article: int | None, clause: str = "") -> str:
    if article is None:
        return "数据质量"
    return f"第{article}条" + (f"第{clause}项" if clause else "")


def cite_local(article: int | None, clause: str = "") -> str:
    """In the active language."""
    return cite(article, clause) if english() else cite_zh(article, clause)


class Finding(NamedTuple):
    """A rule's verdict on one compound (a named tuple: tens of thousands per city run). `lines`
    are the evidence as the rule wrote it (see `evidence`); `.evidence` is its text."""

    rule_id: str
    article: int | None
    clause: str
    status: Status
    lines: list[Line]
    remedy: str = ""

    @property
    def evidence(self) -> list[str]:
        """The evidence in the active language."""
        return render_all(self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "article": self.article,
            "clause": self.clause,
            "citation": cite(self.article, self.clause),
            "status": str(self.status),
            "evidence": self.evidence,
            "remedy": self.remedy,
        }

    def stored(self) -> list[Any]:
        """The form kept in `CompoundAssessment.findings`: `[rule_id, article, clause, status,
        lines]` (titles and remedy come from the pack version the assessment names)."""
        return [self.rule_id, self.article, self.clause, str(self.status), self.lines]


@dataclass(frozen=True)
class RulePack:
    name: str
    version: str
    advisory: bool
    rules: tuple[Rule, ...]
    title: str = ""
    title_en: str = ""

    @property
    def localized_title(self) -> str:
        return (self.title_en or self.title) if english() else self.title

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def with_rules(self, rules: Iterable[Rule], version: str | None = None) -> RulePack:
        return RulePack(self.name, version or self.version, self.advisory, tuple(rules), self.title, self.title_en)


def evaluate(rule: Rule, snapshot: Snapshot) -> Finding:
    """One rule on one snapshot; never raises."""
    try:
        status, lines = rule.func(snapshot)
        if type(status) is not Status:
            status = Status(status)
        if type(lines) is not list:
            lines = list(lines)
    except Exception as exc:  # a broken rule must not stop the run (issue 4)
        return Finding(rule.id, rule.article, rule.clause, Status.ERROR, [f"{type(exc).__name__}: {exc}"], rule.remedy)
    if not lines and (status is Status.UNKNOWN or status is Status.FAIL):
        return Finding(rule.id, rule.article, rule.clause, Status.ERROR, [NO_GROUNDS[status]], rule.remedy)
    if status is Status.FAIL and rule.level is Level.ENCOURAGED:
        status = Status.RECOMMENDATION
    return Finding(rule.id, rule.article, rule.clause, status, lines, rule.remedy)


# A verdict that must say why and does not is an error of the rule.
NO_GROUNDS = {
    Status.UNKNOWN: gettext_noop("规则未给出“无法判断”的依据"),
    Status.FAIL: gettext_noop("规则未给出“不符合”的依据"),
}


def run(pack: RulePack, snapshot: Snapshot) -> list[Finding]:
    return [evaluate(rule, snapshot) for rule in pack.rules]


def counts(findings: Iterable[Finding | Any]) -> dict[str, int]:
    """Findings per status, every status present (0 when none)."""
    result = dict.fromkeys(map(str, Status), 0)
    for status, n in Counter(map(attrgetter("status"), findings)).items():
        result[str(status)] += n
    return result


def worst(statuses: Sequence[str]) -> Status:
    """The status an article shows when it has several findings."""
    present = {Status(s) for s in statuses}
    return next((s for s in SEVERITY if s in present), Status.NOT_APPLICABLE)


_PACKS: dict[tuple[str, str], RulePack] = {}


def register(pack: RulePack) -> RulePack:
    _PACKS[(pack.name, pack.version)] = pack
    return pack


def registered_packs() -> list[RulePack]:
    """Every registered pack version."""
    return list(_PACKS.values())


def get_pack(name: str = "yingkou_2015", version: str | None = None) -> RulePack:
    """A registered pack; the newest version when none is given."""
    from . import rulepacks  # noqa: F401  (registers the packs)

    if version is not None:
        return _PACKS[(name, version)]
    versions = sorted((v for n, v in _PACKS if n == name), key=_version_key)
    if not versions:
        raise KeyError(name)
    return _PACKS[(name, versions[-1])]


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.split("."))
