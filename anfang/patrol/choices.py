"""Choices of the electronic patrol system (电子巡查, Art 10; patrol teams Art 6)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TagKind(models.TextChoices):
    """The identifier a checkpoint carries in the field."""

    NFC = "nfc", _("NFC 标签")
    RFID = "rfid", _("RFID 巡更钮")
    QR = "qr", _("二维码")
    BLE = "ble", _("蓝牙信标")


class RunStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未开始")
    RUNNING = "running", _("进行中")
    COMPLETED = "completed", _("已完成")
    INCOMPLETE = "incomplete", _("未完成（漏检）")
    MISSED = "missed", _("漏巡")


OPEN_STATUSES = (RunStatus.NOT_STARTED, RunStatus.RUNNING)
CLOSED_STATUSES = (RunStatus.COMPLETED, RunStatus.INCOMPLETE, RunStatus.MISSED)


class Punctuality(models.TextChoices):
    NONE = "", _("—")
    ON_TIME = "on_time", _("准时")
    EARLY = "early", _("提前")
    LATE = "late", _("超时")
    EARLY_LATE = "early_late", _("提前开始且超时结束")


class Source(models.TextChoices):
    PHONE = "phone", _("手机")
    READER = "reader", _("巡更棒")
    MQTT = "mqtt", _("设备事件")
    API = "api", _("接口")


class CheckinFlag(models.TextChoices):
    UNKNOWN_TAG = "unknown_tag", _("未登记的标签")
    OTHER_ROUTE = "other_route", _("非本路线巡查点")
    DUPLICATE = "duplicate", _("重复签到")
    NO_RUNNING_PATROL = "no_running_patrol", _("无进行中的巡查")
    LATE_UPLOAD = "late_upload", _("延迟上传")
    CLOCK_CORRECTED = "clock_corrected", _("时钟已校正")


class ExceptionKind(models.TextChoices):
    """异常 a guard reports on the round."""

    HAZARD = "hazard", _("安全隐患")
    FACILITY = "facility", _("设施损坏")
    SUSPICIOUS = "suspicious", _("可疑人员/车辆")
    FIRE = "fire", _("消防通道占用/火情")
    CHECKPOINT = "checkpoint", _("巡查点无法签到")
    OTHER = "other", _("其他")


class Weekday(models.IntegerChoices):
    """Python's weekday numbering (Monday = 0), as stored in Plan.weekdays."""

    MON = 0, _("周一")
    TUE = 1, _("周二")
    WED = 2, _("周三")
    THU = 3, _("周四")
    FRI = 4, _("周五")
    SAT = 5, _("周六")
    SUN = 6, _("周日")
