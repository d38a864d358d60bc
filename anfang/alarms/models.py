"""Alarms: what a duty operator must act on, raised from alarm-class events (issue 6, Art 16)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound
from anfang.devices.models import Device

from . import choices as c


class AlarmRule(models.Model):
    """A compound's own setting for one event kind, overriding the shipped default (choices.DEFAULT_RULES)."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="alarm_rules")
    kind = models.CharField(_("事件类型"), max_length=32, choices=c.AlarmKind.choices)
    raises_alarm = models.BooleanField(_("产生报警"), default=True)
    priority = models.PositiveSmallIntegerField(_("优先级"), choices=c.Priority.choices, default=c.Priority.MEDIUM)
    correlation_seconds = models.PositiveIntegerField(
        _("合并窗口（秒）"),
        default=c.DEFAULT_CORRELATION_SECONDS,
        help_text=_("同一设备在此时间内的同类事件并入同一条未关闭报警"),
    )
    escalate_after_seconds = models.PositiveIntegerField(
        _("未确认升级时间（秒）"), default=c.DEFAULT_ESCALATE_AFTER_SECONDS
    )

    class Meta:
        verbose_name = _("报警规则")
        verbose_name_plural = _("报警规则")
        constraints = [models.UniqueConstraint(fields=["compound", "kind"], name="alarm_rule_unique_kind")]

    def __str__(self) -> str:
        return f"{self.compound} · {self.get_kind_display()}"


class Alarm(models.Model):
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="alarms")
    # Alarms from device events have a device and events; alarms the platform raises itself (a
    # missed patrol, a watch-listed vehicle) say what and where in `subject` and link to it.
    device = models.ForeignKey(
        Device, verbose_name=_("设备"), null=True, blank=True, on_delete=models.PROTECT, related_name="alarms"
    )
    kind = models.CharField(_("报警类型"), max_length=32, choices=c.AlarmKind.choices)
    subject = models.CharField(_("报警内容"), max_length=255, blank=True)
    link = models.CharField(_("相关记录"), max_length=255, blank=True)
    priority = models.PositiveSmallIntegerField(_("优先级"), choices=c.Priority.choices)
    status = models.CharField(_("状态"), max_length=16, choices=c.Status.choices, default=c.Status.NEW)
    stale = models.BooleanField(
        _("迟到/重放"), default=False, help_text=_("事件发生时间远早于接收时间：标记而不作为新报警鸣响")
    )
    raised_at = models.DateTimeField(_("产生时间"))
    first_event_id = models.BigIntegerField(_("首个事件"), null=True, blank=True)
    last_event_id = models.BigIntegerField(_("最近事件"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("最近事件时间"))
    event_count = models.PositiveIntegerField(_("事件数"), default=1)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    dispatched_at = models.DateTimeField(_("派警时间"), null=True, blank=True)
    dispatched_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("派往"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    on_site_at = models.DateTimeField(_("到场时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("关闭人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    close_cause = models.CharField(_("关闭原因"), max_length=16, choices=c.CloseCause.choices, blank=True)
    close_note = models.TextField(_("处置说明"), blank=True)
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("升级级别"), default=0)

    class Meta:
        verbose_name = _("报警")
        verbose_name_plural = _("报警")
        ordering = ["-priority", "raised_at", "id"]
        indexes = [
            models.Index(fields=["compound", "status", "priority"], name="alarm_queue"),
            models.Index(fields=["device", "kind", "status"], name="alarm_correlation"),
            models.Index(fields=["status", "raised_at"], name="alarm_status_raised"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} · {self.where}"

    @property
    def where(self) -> str:
        """The device and its location, or for a platform alarm what it is about."""
        if self.device is None:
            return self.subject
        return self.device.name + (f" · {self.device.location_note}" if self.device.location_note else "")

    @property
    def is_open(self) -> bool:
        return self.status != c.Status.CLOSED

    @property
    def seconds_to_acknowledge(self) -> float | None:
        return (self.acknowledged_at - self.raised_at).total_seconds() if self.acknowledged_at else None

    @property
    def seconds_to_close(self) -> float | None:
        return (self.closed_at - self.raised_at).total_seconds() if self.closed_at else None


class AlarmEvent(models.Model):
    """The events an alarm gathered (correlation), for its detail page and pictures."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="event_links")
    event_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alarm", "event_id"], name="alarm_event_unique")]

    def __str__(self) -> str:
        return f"{self.alarm_id}:{self.event_id}"


class AlarmStep(models.Model):
    """The timeline of an alarm: every step, when and by whom (each step timed, issue 6 §2)."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("步骤"), max_length=16, choices=c.Step.choices)
    at = models.DateTimeField(_("时间"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("报警处置记录")
        verbose_name_plural = _("报警处置记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.step}"


class PoliceReport(models.Model):
    """Art 16: 明确警情后及时向公安机关报警 — when, how, the report number and the officer."""

    alarm = models.OneToOneField(Alarm, on_delete=models.PROTECT, related_name="police_report")
    reported_at = models.DateTimeField(_("报警时间"))
    means = models.CharField(_("报警方式"), max_length=16, choices=c.ReportMeans.choices)
    report_number = models.CharField(_("接警编号"), max_length=64, blank=True)
    officer = models.CharField(_("接警民警"), max_length=64, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("报警人"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("向公安机关报警记录")
        verbose_name_plural = _("向公安机关报警记录")

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.report_number}"
