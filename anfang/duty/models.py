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

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"
