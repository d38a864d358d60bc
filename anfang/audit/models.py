"""The access audit chain and export approvals (Art 33(5): 确保录存信息不被泄露和非法使用)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction


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
