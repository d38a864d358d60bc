"""Uplink vocabularies (Art 9: 与公安机关监控平台联网)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    """What an outbox message carries; the value picks the GA/T 1400 resource it is POSTed to."""

    MOTOR_VEHICLE = "motor_vehicle", _("机动车过车记录")


class Status(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败（将重试）")
    DEAD = "dead", _("已放弃")


# Statuses the sender picks up when next_attempt_at is due (SENDING: a lease that ran out because
# the sender holding it died).
DUE_STATUSES = (Status.PENDING, Status.FAILED, Status.SENDING)
