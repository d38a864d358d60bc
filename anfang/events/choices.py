"""Event vocabularies: the closed list of canonical kinds every adapter maps onto (DESIGN.md)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    PERIMETER_INTRUSION = "perimeter_intrusion", _("周界入侵")
    LINE_CROSSING = "line_crossing", _("越界侦测")
    REGION_ENTRANCE = "region_entrance", _("进入区域")
    REGION_EXIT = "region_exit", _("离开区域")
    MOTION = "motion", _("移动侦测")
    VIDEO_LOSS = "video_loss", _("视频丢失")
    TAMPER = "tamper", _("遮挡/防拆")
    STORAGE_FAULT = "storage_fault", _("存储故障")
    ALARM_INPUT = "alarm_input", _("报警输入")
    ILLEGAL_ACCESS = "illegal_access", _("非法访问")
    DEVICE_OFFLINE = "device_offline", _("设备离线")
    DEVICE_ONLINE = "device_online", _("设备上线")
    HEARTBEAT = "heartbeat", _("心跳")
    ANPR_PASSAGE = "anpr_passage", _("车牌识别过车")
    DOOR_OPEN = "door_open", _("门开")
    DOOR_CLOSED = "door_closed", _("门关")
    DOOR_FORCED = "door_forced", _("门被强行打开")
    DOOR_HELD = "door_held", _("门长时间未关")
    ACCESS_GRANTED = "access_granted", _("刷卡/验证通过")
    ACCESS_DENIED = "access_denied", _("验证失败")
    INTERCOM_CALL = "intercom_call", _("对讲呼叫")
    HOUSEHOLD_PANIC = "household_panic", _("住户紧急求助")
    HOUSEHOLD_BURGLARY = "household_burglary", _("住户入侵报警")
    HOUSEHOLD_FIRE_GAS = "household_fire_gas", _("住户火警/燃气报警")
    PATROL_CHECKIN = "patrol_checkin", _("巡查签到")
    UNMAPPED = "unmapped", _("未映射事件")


class EventState(models.TextChoices):
    """Vendors report a condition starting and stopping (Dahua Start/Stop, ISAPI active/inactive);
    a one-off occurrence (a plate read, a card swipe) is a pulse."""

    START = "start", _("开始")
    STOP = "stop", _("结束")
    PULSE = "pulse", _("瞬时")


class Severity(models.IntegerChoices):
    INFO = 0, _("信息")
    NOTICE = 1, _("提示")
    WARNING = 2, _("警告")
    CRITICAL = 3, _("紧急")


class Source(models.TextChoices):
    ISAPI = "isapi", _("海康 ISAPI 推送")
    DAHUA = "dahua", _("大华事件流")
    MQTT = "mqtt", _("MQTT")
    API = "api", _("JSON 批量接口")


class Flag(models.TextChoices):
    """Marks on an event whose timing is not to be taken at face value (DESIGN.md: device clocks
    are not trusted blindly)."""

    ZONE_ASSUMED = "zone_assumed", _("设备时间无时区，按北京时间解释")
    CLOCK_SKEW = "clock_skew", _("设备时钟偏差超过阈值")
    LATE = "late", _("迟到事件（发生时间早于接收时间过久）")
    REPLAYED = "replayed", _("由死信重放")


# Default severity of each kind; adapters may raise it (e.g. a priority the device sends).
DEFAULT_SEVERITY: dict[str, int] = {
    EventKind.PERIMETER_INTRUSION: Severity.CRITICAL,
    EventKind.DOOR_FORCED: Severity.CRITICAL,
    EventKind.HOUSEHOLD_PANIC: Severity.CRITICAL,
    EventKind.HOUSEHOLD_BURGLARY: Severity.CRITICAL,
    EventKind.HOUSEHOLD_FIRE_GAS: Severity.CRITICAL,
    EventKind.ALARM_INPUT: Severity.CRITICAL,
    EventKind.LINE_CROSSING: Severity.WARNING,
    EventKind.REGION_ENTRANCE: Severity.WARNING,
    EventKind.TAMPER: Severity.WARNING,
    EventKind.VIDEO_LOSS: Severity.WARNING,
    EventKind.STORAGE_FAULT: Severity.WARNING,
    EventKind.DOOR_HELD: Severity.WARNING,
    EventKind.ILLEGAL_ACCESS: Severity.WARNING,
    EventKind.DEVICE_OFFLINE: Severity.WARNING,
    EventKind.ACCESS_DENIED: Severity.NOTICE,
    EventKind.UNMAPPED: Severity.NOTICE,
    EventKind.MOTION: Severity.INFO,
}


def default_severity(kind: str) -> int:
    return DEFAULT_SEVERITY.get(kind, Severity.INFO)


class DeadLetterReason(models.TextChoices):
    UNAUTHENTICATED = "unauthenticated", _("设备未认证（未知、停用或来源地址不符）")
    TOO_LARGE = "too_large", _("报文超过大小上限")
    BAD_CONTENT_TYPE = "bad_content_type", _("内容类型不支持")
    MALFORMED = "malformed", _("报文无法解析")
    INVALID = "invalid", _("字段缺失或取值无效")
    BAD_MEDIA = "bad_media", _("图片类型或大小不符")
    UNKNOWN_DEVICE = "unknown_device", _("报文引用的设备未登记或不在授权范围")


class DeadLetterStatus(models.TextChoices):
    NEW = "new", _("待处理")
    REPLAYED = "replayed", _("已重放")
    DISCARDED = "discarded", _("已丢弃")
