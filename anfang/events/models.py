"""Canonical events, their dedup keys and dead letters (DESIGN.md: data flow, canonical event).

On PostgreSQL `events_event` is range-partitioned by day on `received_at` (the platform's clock:
a device clock can be years off, the platform's cannot) so that retention is a partition drop;
see `partitions.py`. A partitioned table's primary key must include the partition key, so the
database key is (id, received_at) while Django addresses rows by `id` alone, which the sequence
keeps unique. Other tables refer to events without a database constraint for the same reason."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound
from anfang.devices.models import Device

from . import choices as c


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    device = models.ForeignKey(
        Device, verbose_name=_("设备"), on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    channel = models.PositiveSmallIntegerField(_("通道"), null=True, blank=True)
    kind = models.CharField(_("事件类型"), max_length=32, choices=c.EventKind.choices)
    state = models.CharField(_("状态"), max_length=8, choices=c.EventState.choices, default=c.EventState.PULSE)
    severity = models.PositiveSmallIntegerField(_("级别"), choices=c.Severity.choices, default=c.Severity.INFO)
    occurred_at = models.DateTimeField(_("发生时间（设备）"))
    received_at = models.DateTimeField(_("接收时间（平台）"))
    source = models.CharField(_("来源"), max_length=8, choices=c.Source.choices)
    external_id = models.CharField(_("设备事件编号"), max_length=128, blank=True)
    vendor_code = models.CharField(_("厂商事件码"), max_length=96, blank=True)
    flags = models.JSONField(_("标记"), default=list, blank=True)
    payload = models.JSONField(_("原始字段"), default=dict, blank=True)
    media = models.JSONField(_("图片"), default=list, blank=True)

    class Meta:
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        indexes = [
            # The newest events first, across every compound (admins, the event list, the console):
            # per partition a backward scan of this index instead of sorting the whole day.
            models.Index(fields=["received_at", "id"], name="event_received_id"),
            models.Index(fields=["compound", "received_at"], name="event_compound_received"),
            models.Index(fields=["device", "received_at"], name="event_device_received"),
            models.Index(fields=["kind", "received_at"], name="event_kind_received"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.device_id} ({self.occurred_at:%Y-%m-%d %H:%M:%S})"


class EventKey(models.Model):
    """Dedup: one row per (device, key) seen within the window, where key is the device's own event
    id or, when it sends none, a hash of the content. Inserted in the same transaction as the event,
    so two workers receiving the same redelivered message cannot both store it."""

    device = models.ForeignKey(Device, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    key = models.CharField(max_length=160)
    event_id = models.BigIntegerField()
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "key"], name="event_key_unique")]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.key}"


class DeadLetter(models.Model):
    """A payload that could not be authenticated, parsed or mapped, kept verbatim for a fix and replay."""

    received_at = models.DateTimeField(_("接收时间"), db_index=True)
    source = models.CharField(_("来源"), max_length=8, choices=c.Source.choices)
    device = models.ForeignKey(
        Device, verbose_name=_("设备"), null=True, blank=True, on_delete=models.SET_NULL, related_name="dead_letters"
    )
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    remote_addr = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    endpoint = models.CharField(_("接收入口"), max_length=255, blank=True)
    content_type = models.CharField(_("内容类型"), max_length=255, blank=True)
    headers = models.JSONField(_("报文头"), default=dict, blank=True)
    body = models.BinaryField(_("原始报文"))
    body_size = models.PositiveIntegerField(_("原始大小（字节）"))
    truncated = models.BooleanField(_("已截断"), default=False)
    reason = models.CharField(_("原因"), max_length=24, choices=c.DeadLetterReason.choices, db_index=True)
    detail = models.TextField(_("说明"), blank=True)
    status = models.CharField(
        _("处理状态"), max_length=12, choices=c.DeadLetterStatus.choices, default=c.DeadLetterStatus.NEW
    )
    suppressed = models.PositiveIntegerField(
        _("同类被限流次数"), default=0, help_text=_("同一来源的未认证报文按分钟限流，只保存首条并计数")
    )
    attempts = models.PositiveSmallIntegerField(_("重放次数"), default=0)
    replayed_at = models.DateTimeField(_("重放时间"), null=True, blank=True)
    replay_result = models.TextField(_("重放结果"), blank=True)

    class Meta:
        verbose_name = _("死信")
        verbose_name_plural = _("死信")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="deadletter_status_received")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.received_at:%Y-%m-%d %H:%M:%S})"
