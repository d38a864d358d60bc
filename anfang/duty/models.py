"""Duty rooms staffed around the clock (Art 16: 治安值班室和小区监控中心应当24小时有人值班):
the planned roster, who actually signed on and off, and the duty log (值班记录)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import DutyRoom

from . import choices as c


class Shift(models.Model):
    """One planned stretch of duty for one person in one duty room (the roster)."""

    duty_room = models.ForeignKey(DutyRoom, verbose_name=_("值班室"), on_delete=models.CASCADE, related_name="shifts")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("值班员"), on_delete=models.PROTECT, related_name="shifts"
    )
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    note = models.CharField(_("备注"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("排班")
        verbose_name_plural = _("排班")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["duty_room", "starts_at"], name="shift_room_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="shift_ends_after_start",
                violation_error_message=_("结束时间必须晚于开始时间。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.duty_room} · {self.operator} {self.starts_at:%m-%d %H:%M}"


class DutySession(models.Model):
    """Someone actually on duty: from sign-on to sign-off (open while on duty)."""

    duty_room = models.ForeignKey(DutyRoom, verbose_name=_("值班室"), on_delete=models.CASCADE, related_name="sessions")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("值班员"), on_delete=models.PROTECT, related_name="duty_sessions"
    )
    signed_on_at = models.DateTimeField(_("上岗时间"))
    signed_off_at = models.DateTimeField(_("下岗时间"), null=True, blank=True)
    handover_note = models.TextField(_("交接班说明"), blank=True)

    class Meta:
        verbose_name = _("值班记录（在岗）")
        verbose_name_plural = _("值班记录（在岗）")
        ordering = ["-signed_on_at", "-id"]
        indexes = [models.Index(fields=["duty_room", "signed_on_at"], name="session_room_on")]
        constraints = [
            models.UniqueConstraint(
                fields=["operator"],
                condition=models.Q(signed_off_at__isnull=True),
                name="one_open_session_per_operator",
                violation_error_message=_("该值班员已在岗，请先下岗。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.operator} @ {self.duty_room}"


class LogEntry(models.Model):
    """The duty log: manual notes plus automatic entries for alarms, sign-on/off and handover."""

    duty_room = models.ForeignKey(DutyRoom, verbose_name=_("值班室"), on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(_("时间"), db_index=True)
    kind = models.CharField(_("类别"), max_length=12, choices=c.LogKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = models.TextField(_("内容"))
    alarm = models.ForeignKey(
        "alarms.Alarm",
        verbose_name=_("报警"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="log_entries",
    )

    class Meta:
        verbose_name = _("值班日志")
        verbose_name_plural = _("值班日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["duty_room", "at"], name="log_room_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class DailyRecord(models.Model):
    """The compound's operating record of one local day (监控运行信息, Art 33(1): 保证物防、技防设施
    24小时不间断运行，并有效记录监控运行信息). Computed by `records.compute`; kept. A record whose
    day was over when it was computed is final and never changes; one of today is provisional and
    recomputed on demand (definitions: anfang/duty/records.py)."""

    compound = models.ForeignKey(
        "compounds.Compound", verbose_name=_("小区"), on_delete=models.PROTECT, related_name="daily_records"
    )
    day = models.DateField(_("日期"))
    computed_at = models.DateTimeField(_("生成时间"))
    final = models.BooleanField(_("已定稿"), default=False, help_text=_("当日结束后生成的记录不再改变"))
    method = models.PositiveSmallIntegerField(_("口径版本"), default=1)
    devices_in_service = models.PositiveIntegerField(_("在用设备数"), default=0)
    devices_heard = models.PositiveIntegerField(_("有通信设备数"), default=0)
    silent_devices = models.JSONField(_("全天无通信设备"), default=list, blank=True)
    alarms_raised = models.PositiveIntegerField(_("报警数"), default=0)
    alarms_stale = models.PositiveIntegerField(_("迟到/重放报警数"), default=0)
    alarms_by_kind = models.JSONField(_("按类型"), default=dict, blank=True)
    alarms_by_outcome = models.JSONField(_("按处置结果"), default=dict, blank=True)
    alarms_acknowledged = models.PositiveIntegerField(_("已确认报警数"), default=0)
    alarms_closed = models.PositiveIntegerField(_("已关闭报警数"), default=0)
    ack_median_seconds = models.FloatField(_("确认用时中位数（秒）"), null=True, blank=True)
    ack_p90_seconds = models.FloatField(_("确认用时P90（秒）"), null=True, blank=True)
    close_median_seconds = models.FloatField(_("关闭用时中位数（秒）"), null=True, blank=True)
    close_p90_seconds = models.FloatField(_("关闭用时P90（秒）"), null=True, blank=True)
    police_reports = models.JSONField(_("向公安机关报警"), default=list, blank=True)
    duty_rooms = models.PositiveSmallIntegerField(_("值班室数"), default=0)
    unstaffed_minutes = models.PositiveIntegerField(_("无人值班分钟数"), null=True, blank=True)
    unstaffed_gaps = models.JSONField(_("无人值班时段"), default=list, blank=True)
    judged_until = models.DateTimeField(_("统计截至"))

    class Meta:
        verbose_name = _("监控运行记录")
        verbose_name_plural = _("监控运行记录")
        ordering = ["-day", "compound_id"]
        constraints = [models.UniqueConstraint(fields=["compound", "day"], name="daily_record_unique_day")]

    def __str__(self) -> str:
        return f"{self.compound_id} {self.day:%Y-%m-%d}"

    def save(self, *args, **kwargs) -> None:
        # Kept as written once final: a changed past record would no longer be evidence (Art 33(1)).
        if self.pk and DailyRecord.objects.filter(pk=self.pk, final=True).exists():
            raise ValueError("a final daily record is immutable")
        super().save(*args, **kwargs)

    @property
    def online_share(self) -> float | None:
        return self.devices_heard / self.devices_in_service if self.devices_in_service else None
