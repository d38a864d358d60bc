"""Alarm vocabularies (issue 6; Art 16: 发现报警（求助）信号，视情况进行处理，明确警情后及时向公安机关报警)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from anfang.events.choices import EventKind


class Status(models.TextChoices):
    NEW = "new", _("待确认")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    DISPATCHED = "dispatched", _("已派警")
    ON_SITE = "on_site", _("已到场")
    CLOSED = "closed", _("已关闭")


OPEN_STATUSES = (Status.NEW, Status.ACKNOWLEDGED, Status.DISPATCHED, Status.ON_SITE)

# The workflow: which status each step may start from. Closing is allowed from any open status
# (a test or a false alarm is closed straight after acknowledging), never from new: someone
# must have looked at it first.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.ACKNOWLEDGED: (Status.NEW,),
    Status.DISPATCHED: (Status.ACKNOWLEDGED,),
    Status.ON_SITE: (Status.DISPATCHED,),
    Status.CLOSED: (Status.ACKNOWLEDGED, Status.DISPATCHED, Status.ON_SITE),
}


class Priority(models.IntegerChoices):
    LOW = 1, _("低")
    MEDIUM = 2, _("中")
    HIGH = 3, _("高")
    URGENT = 4, _("紧急")


class CloseCause(models.TextChoices):
    REAL_INCIDENT = "real_incident", _("真实警情")
    FALSE_ALARM = "false_alarm", _("误报")
    TEST = "test", _("测试")
    DEVICE_FAULT = "device_fault", _("设备故障")


class ReportMeans(models.TextChoices):
    PHONE_110 = "phone_110", _("拨打110")
    POLICE_PLATFORM = "platform", _("联网报警平台")
    STATION_PHONE = "station_phone", _("派出所电话")
    IN_PERSON = "in_person", _("当面报告")


class Step(models.TextChoices):
    RAISED = "raised", _("报警产生")
    EVENT_JOINED = "event_joined", _("新事件并入")
    ACKNOWLEDGED = "acknowledged", _("确认")
    DISPATCHED = "dispatched", _("派警")
    ON_SITE = "on_site", _("到场")
    CLOSED = "closed", _("关闭")
    ESCALATED = "escalated", _("超时升级")
    REPORTED = "reported", _("向公安机关报警")


class PlatformKind(models.TextChoices):
    """Alarms the platform raises itself, from what it evaluates rather than from a device event."""

    PATROL_MISSED = "patrol_missed", _("巡查漏检")
    PATROL_NOT_STARTED = "patrol_not_started", _("巡查未开始/超时")
    WATCHLIST_HIT = "watchlist_hit", _("布控车辆出现")


class AlarmKind(models.TextChoices):
    """Every kind an alarm can have: the event vocabulary plus the platform's own kinds."""

    _ignore_ = ["member", "label"]
    for member in [*EventKind, *PlatformKind]:
        vars()[member.name] = member.value, member.label


# Shipped defaults (editable per compound through AlarmRule): which kinds raise an alarm and how
# urgently. Kinds not listed never raise one.
DEFAULT_RULES: dict[str, int] = {
    EventKind.PERIMETER_INTRUSION: Priority.URGENT,
    EventKind.HOUSEHOLD_PANIC: Priority.URGENT,
    EventKind.HOUSEHOLD_BURGLARY: Priority.URGENT,
    EventKind.HOUSEHOLD_FIRE_GAS: Priority.URGENT,
    EventKind.DOOR_FORCED: Priority.HIGH,
    EventKind.ALARM_INPUT: Priority.HIGH,
    EventKind.LINE_CROSSING: Priority.MEDIUM,
    EventKind.REGION_ENTRANCE: Priority.MEDIUM,
    EventKind.TAMPER: Priority.MEDIUM,
    EventKind.DOOR_HELD: Priority.MEDIUM,
    EventKind.VIDEO_LOSS: Priority.MEDIUM,
    EventKind.STORAGE_FAULT: Priority.LOW,
    EventKind.DEVICE_OFFLINE: Priority.LOW,
    PlatformKind.WATCHLIST_HIT: Priority.URGENT,
    PlatformKind.PATROL_MISSED: Priority.MEDIUM,
    PlatformKind.PATROL_NOT_STARTED: Priority.MEDIUM,
}
DEFAULT_CORRELATION_SECONDS = 300
DEFAULT_ESCALATE_AFTER_SECONDS = 120
