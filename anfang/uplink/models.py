"""The outbox to the police platform (GA/T 1400 视图库), with retry and status (Art 9).

A message is written in the same transaction as the record it reports (transactional outbox), so
nothing is lost when the platform is down: the sender (`manage.py uplink_send`) keeps retrying
with backoff, and a message it gives up on is kept as `dead` and can be re-queued."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound

from . import choices as c


class OutboxMessage(models.Model):
    kind = models.CharField(_("类型"), max_length=32, choices=c.MessageKind.choices)
    # The reported row's id (a plain integer: passages live in a partitioned table nothing may
    # hold a foreign key to).
    object_id = models.BigIntegerField(_("对象编号"))
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="uplink_messages"
    )
    idempotency_key = models.CharField(_("幂等键"), max_length=96, unique=True)
    # The platform's own identifier of the record (GA/T 1400 MotorVehicleID), stable across resends.
    external_id = models.CharField(_("上报编号"), max_length=64, blank=True, db_index=True)
    payload = models.JSONField(_("报文"))
    status = models.CharField(_("状态"), max_length=16, choices=c.Status.choices, default=c.Status.PENDING)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次发送时间"))
    last_error = models.TextField(_("最近错误"), blank=True)
    last_status_code = models.IntegerField(_("最近状态码"), null=True, blank=True)
    created_at = models.DateTimeField(_("入队时间"))
    # Start of the current attempt budget (= created_at, reset by a re-queue): MAX_AGE_DAYS counts from here.
    queued_at = models.DateTimeField(_("排队起始时间"))
    sent_at = models.DateTimeField(_("发送成功时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("上传消息")
        verbose_name_plural = _("上传消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sender's "due" query: WHERE status IN (…) AND next_attempt_at <= now ORDER BY next_attempt_at.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=[s.value for s in c.DUE_STATUSES]),
                name="uplink_due",
            ),
            # Status page counts per compound and compliance facts.
            models.Index(fields=["compound", "status", "created_at"], name="uplink_compound_status"),
            models.Index(fields=["status", "created_at"], name="uplink_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_id or self.object_id} · {self.get_status_display()}"


class UplinkAttempt(models.Model):
    """One delivery attempt of one message (kept for the status page and for evidence of Art 9)."""

    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("上传消息"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(_("时间"))
    ok = models.BooleanField(_("成功"))
    http_status = models.IntegerField(_("HTTP 状态"), null=True, blank=True)
    status_code = models.IntegerField(_("平台状态码"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"), default=0)

    class Meta:
        verbose_name = _("发送记录")
        verbose_name_plural = _("发送记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["message", "at"], name="uplink_attempt_msg_at")]

    def __str__(self) -> str:
        return f"{self.message_id} {self.at:%Y-%m-%d %H:%M:%S} {'OK' if self.ok else self.error[:40]}"
