"""Stored assessments: who ran which pack on which compounds, the snapshot each compound was
judged on (deduplicated by hash, so a past report can be reproduced exactly) and every finding.

A compound's findings are one JSON array on its `CompoundAssessment` (one row per compound, not
one per finding: assessing the city writes 1,500 rows instead of 43,500), next to the count per
status. Each element is the array `[rule_id, article, clause, status, evidence]` — positional,
so the field names are not written 43,500 times — with `evidence` a list of language-neutral
lines (`evidence.py`: a zh-Hans template and its parameters, rendered in the reader's language
when read). The remedy and the titles come from the rule pack version the assessment names.
Results stored before this form hold `{"rule_id", "article", "clause", "status", "evidence"}`
objects with zh-Hans text; `decode_finding` reads both. To aggregate in SQL, unpack the array:
`jsonb_array_elements(findings) AS f`, then `f->>3` is the status (PostgreSQL);
`services.tally` does it in Python for any backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .engine import Cited, Status, get_pack
from .evidence import Line, render_all


class StoredSnapshot(models.Model):
    """The canonical JSON a compound was judged on, stored once per distinct content (`hash` =
    sha256 of the JSON). Plain text: PostgreSQL compresses it on the server (TOAST, lz4 where
    available), cheaper than compressing in Python while the assessment waits."""

    hash = models.CharField(max_length=64, primary_key=True)
    data = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("评估快照")
        verbose_name_plural = _("评估快照")

    def __str__(self) -> str:
        return self.hash[:12]

    @property
    def canonical(self) -> str:
        return self.data


class Assessment(models.Model):
    scope_label = models.CharField(_("评估范围"), max_length=255)
    pack_name = models.CharField(_("规则包"), max_length=64)
    pack_version = models.CharField(_("规则包版本"), max_length=32)
    advisory = models.BooleanField(_("参考性规则包"), default=False)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    compounds_count = models.PositiveIntegerField(_("小区数"), default=0)
    counts = models.JSONField(_("各状态结论数"), default=dict)

    class Meta:
        verbose_name = _("合规评估")
        verbose_name_plural = _("合规评估")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.scope_label} · {self.pack_name} {self.pack_version} · {self.started_at:%Y-%m-%d %H:%M}"


class CompoundAssessment(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="compound_results")
    compound = models.ForeignKey(
        "compounds.Compound", verbose_name=_("小区"), on_delete=models.CASCADE, related_name="assessments"
    )
    snapshot = models.ForeignKey(StoredSnapshot, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField(_("评估时间"))
    n_pass = models.PositiveIntegerField(default=0)
    n_fail = models.PositiveIntegerField(default=0)
    n_unknown = models.PositiveIntegerField(default=0)
    n_not_applicable = models.PositiveIntegerField(default=0)
    n_error = models.PositiveIntegerField(default=0)
    n_recommendation = models.PositiveIntegerField(default=0)
    findings = models.JSONField(_("评估结论"), default=list)

    class Meta:
        verbose_name = _("小区评估结果")
        verbose_name_plural = _("小区评估结果")
        ordering = ["-assessed_at", "-id"]
        indexes = [models.Index(fields=["compound", "-assessed_at"])]

    def __str__(self) -> str:
        return f"{self.compound_id} @ {self.assessed_at:%Y-%m-%d %H:%M}"

    @property
    def snapshot_hash(self) -> str:
        return self.snapshot_id

    def status_counts(self) -> dict[str, int]:
        return {str(s): getattr(self, f"n_{s}") for s in Status}

    @cached_property
    def finding_records(self) -> list[StoredFinding]:
        """The stored findings in pack order, in the active language, with the remedy of the pack
        version used."""
        try:
            pack = get_pack(self.assessment.pack_name, self.assessment.pack_version)
            remedies = {r.id: r.remedy_text for r in pack.rules}
        except KeyError:  # a pack version no longer shipped: the findings still read, without remedy
            remedies = {}
        records = []
        for item in self.findings:
            finding = decode_finding(item)
            records.append(StoredFinding.load(finding, remedies.get(finding[0], "")))
        return records

    def finding(self, rule_id: str) -> StoredFinding | None:
        return next((f for f in self.finding_records if f.rule_id == rule_id), None)


StoredTuple = tuple[str, int | None, str, str, list[Line]]


def decode_finding(item: list[Any] | dict[str, Any]) -> StoredTuple:
    """(rule_id, article, clause, status, evidence lines) of a stored finding, either form."""
    if isinstance(item, dict):  # stored before the positional form
        return item["rule_id"], item["article"], item["clause"], item["status"], item["evidence"]
    rule_id, article, clause, status, lines = item
    return rule_id, article, clause, status, lines


@dataclass(frozen=True)
class StoredFinding(Cited):
    """One element of `CompoundAssessment.findings`, its evidence in the active language."""

    rule_id: str
    article: int | None
    clause: str
    status: str
    evidence: list[str] = field(default_factory=list)
    remedy: str = ""  # of the pack; shown only for findings that are not a pass
    lines: list[Line] = field(default_factory=list)  # the evidence as stored

    @classmethod
    def load(cls, finding: StoredTuple, remedy: str = "") -> StoredFinding:
        rule_id, article, clause, status, lines = finding
        return cls(rule_id, article, clause, status, render_all(lines), remedy if status != Status.PASS else "", lines)
