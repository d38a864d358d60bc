"""Retention vocabularies (Art 33(2))."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataClass(models.TextChoices):
    """What the platform stores and purges, one retention policy each (registry.CLASSES)."""

    EVENTS = "events", _("设备事件")
    ALARMS = "alarms", _("报警记录")
    VEHICLE_PASSAGES = "vehicle_passages", _("车辆通行记录与照片")
    PATROL_CHECKINS = "patrol_checkins", _("巡查签到记录")
    DUTY_LOGS = "duty_logs", _("值班记录")
    AUDIT = "audit", _("访问审计")
    VIDEO_INDEX = "video_index", _("录像存储报告")


class PurgeStatus(models.TextChoices):
    RUNNING = "running", _("进行中")
    DONE = "done", _("完成")
    FAILED = "failed", _("失败")
    REFUSED = "refused", _("已拒绝（另一清理正在进行）")


class VideoSource(models.TextChoices):
    ISAPI = "isapi", _("录像机查询（ISAPI）")
    API = "api", _("接口上报")
