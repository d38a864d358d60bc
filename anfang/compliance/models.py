"""Stored assessments: who ran which pack on which compounds, the snapshot each compound was
judged on (deduplicated by hash, so a past report can be reproduced exactly) and every finding."""

from __future__ import annotations

import base64
import zlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .engine import STATUS_LABELS, Status, cite, cite_zh

STATUS_CHOICES = [(str(s), label) for s, label in STATUS_LABELS.items()]


class StoredSnapshot(models.Model):
    """The canonical JSON a compound was judged on, stored once per distinct content
    (`hash` = sha256 of the JSON), compressed: zlib, then base64 text (portable on every backend)."""

    hash = models.CharField(max_length=64, primary_key=True)
    data = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("评估快照")
        verbose_name_plural = _("评估快照")

    def __str__(self) -> str:
        return self.hash[:12]

    @staticmethod
    def pack(canonical: str) -> str:
        return base64.b64encode(zlib.compress(canonical.encode(), 1)).decode("ascii")

    @property
    def canonical(self) -> str:
        return zlib.decompress(base64.b64decode(self.data)).decode()


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


class FindingRecord(models.Model):
    compound_assessment = models.ForeignKey(CompoundAssessment, on_delete=models.CASCADE, related_name="findings")
    rule_id = models.CharField(_("规则"), max_length=64)
    article = models.PositiveSmallIntegerField(_("条"), null=True, blank=True)
    clause = models.CharField(_("项"), max_length=8, blank=True)
    status = models.CharField(_("结论"), max_length=16, choices=STATUS_CHOICES, db_index=True)
    evidence = models.JSONField(_("依据"), default=list)
    remedy = models.TextField(_("整改建议"), blank=True)

    class Meta:
        verbose_name = _("评估结论")
        verbose_name_plural = _("评估结论")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.status}"

    @property
    def citation(self) -> str:
        return cite(self.article, self.clause)

    @property
    def citation_zh(self) -> str:
        return cite_zh(self.article, self.clause)
