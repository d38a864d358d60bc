"""Retention policies with legal floors, legal holds, the purge log, the audit-chain checkpoint and
the video retention evidence (Art 33(2): 视频图像不少于1个月，车辆数据与照片不少于3个月)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import DataClass, PurgeStatus, VideoSource


class RetentionPolicy(models.Model):
    """How many days one data class is kept: the global setting (compound empty) or a compound's
    override. Never below the class's floor (services.set_policy, the form and the API refuse)."""

    data_class = models.CharField(_("数据类别"), max_length=24, choices=DataClass.choices)
    compound = models.ForeignKey(
        "compounds.Compound",
        verbose_name=_("小区"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="retention_policies",
        help_text=_("留空为全局设置"),
    )
    days = models.PositiveIntegerField(_("保存天数"))
    note = models.CharField(_("说明"), max_length=255, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("保存策略")
        verbose_name_plural = _("保存策略")
        ordering = ["data_class", "compound_id"]
        constraints = [
            models.UniqueConstraint(fields=["data_class"], condition=Q(compound=None), name="retention_one_global"),
            models.UniqueConstraint(fields=["data_class", "compound"], name="retention_one_per_compound"),
        ]

    def __str__(self) -> str:
        return f"{self.get_data_class_display()} {self.compound or _('全局')}: {self.days}"


class LegalHoldQuerySet(models.QuerySet):
    def active(self) -> LegalHoldQuerySet:
        return self.filter(released_at=None)


class LegalHold(models.Model):
    """Data kept for a case regardless of any policy: everything matching the scope — a compound,
    a device, a time range of the data, or a combination (all given parts must match) — survives
    every purge while the hold is not released. Overlapping holds simply add up (a row is kept
    when any active hold covers it)."""

    case_number = models.CharField(_("案件编号"), max_length=64)
    reason = models.TextField(_("保全原因"))
    compound = models.ForeignKey(
        "compounds.Compound",
        verbose_name=_("小区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="legal_holds",
    )
    device = models.ForeignKey(
        "devices.Device", verbose_name=_("设备"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data_from = models.DateTimeField(_("数据起始时间"), null=True, blank=True, help_text=_("留空为不限"))
    data_to = models.DateTimeField(_("数据截止时间"), null=True, blank=True, help_text=_("留空为不限（含以后的数据）"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    released_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("解除人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    release_note = models.CharField(_("解除说明"), max_length=255, blank=True)

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        verbose_name = _("法律保全")
        verbose_name_plural = _("法律保全")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_number} ({self.compound or self.device or _('全平台')})"

    @property
    def active(self) -> bool:
        return self.released_at is None


class PurgeRun(models.Model):
    """One purge (or dry run, or media sweep): who, when, what it removed or would remove."""

    started_at = models.DateTimeField(_("开始时间"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("执行人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    trigger = models.CharField(_("触发方式"), max_length=32, default="command")
    dry_run = models.BooleanField(_("演练"), default=False)
    data_class = models.CharField(_("数据类别"), max_length=24, choices=DataClass.choices, blank=True)
    sweep = models.BooleanField(_("媒体清扫"), default=False)
    status = models.CharField(_("结果"), max_length=12, choices=PurgeStatus.choices, default=PurgeStatus.RUNNING)
    report = models.JSONField(_("报告"), default=dict, blank=True)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"), null=True, blank=True)

    class Meta:
        verbose_name = _("清理记录")
        verbose_name_plural = _("清理记录")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.started_at:%Y-%m-%d %H:%M} {self.get_status_display()}"

    @property
    def totals(self) -> dict[str, int]:
        keys = ("rows", "files", "bytes", "held_rows", "partitions", "missing_files")
        classes = self.report.get("classes", {}).values() if isinstance(self.report, dict) else []
        return {k: sum(int(c.get(k) or 0) for c in classes) for k in keys}


class PurgeLock(models.Model):
    """The row a purge takes by compare-and-set (holder "" → its id) so that two purges never run
    at once, on any database."""

    name = models.CharField(max_length=32, primary_key=True)
    holder = models.CharField(max_length=128, blank=True)
    since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("清理锁")
        verbose_name_plural = _("清理锁")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or '-'}"


class AuditCheckpoint(models.Model):
    """Where the audit chain starts after a purge: the sequence number and hash of the last purged
    entry. `audit.services.verify` starts from the newest checkpoint instead of the genesis."""

    seq = models.BigIntegerField(_("最后清理的序号"), unique=True)
    hash = models.CharField(_("其哈希"), max_length=64)
    at = models.DateTimeField(_("其时间"))
    purged_at = models.DateTimeField(_("清理时间"), default=timezone.now)
    purge_run = models.ForeignKey(PurgeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("审计链检查点")
        verbose_name_plural = _("审计链检查点")
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}…"


class VideoRetentionReport(models.Model):
    """How far back one recorder channel's recordings reach (Art 33(2): 视频图像不少于1个月), as
    pulled from the recorder (ISAPI ContentMgmt search) or reported through the API."""

    compound = models.ForeignKey(
        "compounds.Compound", verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+"
    )
    device = models.ForeignKey("devices.Device", verbose_name=_("录像设备"), on_delete=models.CASCADE, related_name="+")
    channel = models.PositiveSmallIntegerField(_("通道"), default=1)
    camera = models.ForeignKey(
        "devices.Device",
        verbose_name=_("摄像机"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    earliest = models.DateTimeField(_("最早录像时间"), null=True, blank=True)
    latest = models.DateTimeField(_("最新录像时间"), null=True, blank=True)
    days = models.PositiveIntegerField(_("录像天数"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=VideoSource.choices)
    reported_at = models.DateTimeField(_("报告时间"), default=timezone.now, db_index=True)
    detail = models.CharField(_("说明"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("录像存储报告")
        verbose_name_plural = _("录像存储报告")
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["compound", "-reported_at"], name="videoreport_compound_at"),
            models.Index(fields=["device", "channel", "-reported_at"], name="videoreport_channel_at"),
        ]

    def __str__(self) -> str:
        return f"{self.device} #{self.channel}: {self.days}"
