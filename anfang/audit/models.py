"""The access audit chain and export approvals (Art 33(5): 确保录存信息不被泄露和非法使用)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction, ExportFormat, ExportKind, ExportStatus


class AuditEntry(models.Model):
    """One access to protected data — a view, search or export of pictures, vehicle data or
    personal data (Art 33(5)) — in a hash chain: each entry's hash covers its fields and the
    previous entry's hash, so an edited, deleted or reordered entry breaks the chain where it
    happened (`core.audit.verify`). Written only by `core.audit.record`; never updated."""

    seq = models.BigIntegerField(_("序号"), unique=True)
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    # Kept as text too: the chain must verify after a user is renamed or deleted.
    actor_name = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=16, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象"), max_length=128, blank=True)
    compound = models.ForeignKey(
        "compounds.Compound",
        verbose_name=_("小区"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    purpose = models.CharField(_("用途"), max_length=255, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("访问审计")
        verbose_name_plural = _("访问审计")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["compound", "-at"], name="audit_compound_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.seq} {self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.get_action_display()} {self.object_type}"
        )


class AuditVerification(models.Model):
    """One run of the chain verifier: the chain status shown on the audit pages, and the anchor
    the next run checks (the entry at `last_seq` must still carry `last_hash`: a truncated or
    rewritten tail is otherwise invisible)."""

    at = models.DateTimeField(_("校验时间"), auto_now_add=True)
    start_seq = models.BigIntegerField(_("起始序号"), default=0)
    checked = models.BigIntegerField(_("校验条数"), default=0)
    intact = models.BooleanField(_("完整"))
    last_seq = models.BigIntegerField(_("最后序号"), default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    breaks = models.JSONField(_("断点"), default=list, blank=True)

    class Meta:
        verbose_name = _("审计链校验")
        verbose_name_plural = _("审计链校验")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {'ok' if self.intact else 'BROKEN'} ({self.checked})"


class ExportRequest(models.Model):
    """A bulk export of vehicle data, pictures or personal data: requested by one person,
    approved by another with an approving role over every compound in scope (Art 33(5)),
    generated as a watermarked file, downloaded by the requester until it expires."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("导出内容"), max_length=16, choices=ExportKind.choices)
    fmt = models.CharField(_("文件格式"), max_length=8, choices=ExportFormat.choices, default=ExportFormat.XLSX)
    compounds = models.ManyToManyField("compounds.Compound", verbose_name=_("小区"), related_name="+")
    date_from = models.DateField(_("开始日期"))
    date_to = models.DateField(_("结束日期"))
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    purpose = models.CharField(_("用途"), max_length=255)
    status = models.CharField(
        _("状态"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.REQUESTED, db_index=True
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=255, blank=True)
    file_ref = models.JSONField(_("文件"), null=True, blank=True)
    file_name = models.CharField(_("文件名"), max_length=128, blank=True)
    rows = models.PositiveIntegerField(_("条数"), default=0)
    expires_at = models.DateTimeField(_("有效期至"), null=True, blank=True)
    downloads = models.PositiveSmallIntegerField(_("下载次数"), default=0)
    downloaded_at = models.DateTimeField(_("下载时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导出申请")
        verbose_name_plural = _("导出申请")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.date_from}–{self.date_to}"

    @property
    def compound_ids(self) -> list[int]:
        return sorted(self.compounds.values_list("pk", flat=True))
