"""Device vocabularies. Subsystems are the nine of Art 7."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Subsystem(models.TextChoices):
    """Art 7: 居民住宅小区安全防范设施主要包括 … (nine kinds)."""

    PHYSICAL = "physical", _("实体防护")
    PERIMETER = "perimeter", _("周界电子防护系统")
    VIDEO = "video", _("视频安防监控系统")
    PATROL = "patrol", _("电子巡查系统")
    PARKING = "parking", _("停车库（场）安全管理系统")
    ACCESS = "access", _("出入口控制系统")
    INTERCOM = "intercom", _("楼宇（可视）对讲系统")
    HOUSEHOLD_ALARM = "household_alarm", _("住户报警系统")
    MONITORING_CENTRE = "monitoring_centre", _("监控中心")


class DeviceType(models.TextChoices):
    CAMERA = "camera", _("摄像机")
    ANPR_CAMERA = "anpr_camera", _("车牌识别摄像机")
    NVR = "nvr", _("硬盘录像机/NVR")
    PERIMETER_DETECTOR = "perimeter_detector", _("周界探测器")
    ELECTRIC_FENCE = "electric_fence", _("电子围栏")
    ALARM_HOST = "alarm_host", _("报警主机")
    PATROL_READER = "patrol_reader", _("巡更棒")
    PATROL_CHECKPOINT = "patrol_checkpoint", _("巡查点")
    BARRIER_CONTROLLER = "barrier_controller", _("道闸控制器")
    ACCESS_CONTROLLER = "access_controller", _("门禁控制器")
    INTERCOM_OUTDOOR = "intercom_outdoor", _("对讲门口机")
    INTERCOM_INDOOR = "intercom_indoor", _("对讲室内机")
    HOUSEHOLD_PANEL = "household_panel", _("住户报警控制器")
    PANIC_BUTTON = "panic_button", _("紧急求助按钮")
    GATE = "gate", _("电动伸缩门/金属门")
    VIDEO_WALL = "video_wall", _("监控大屏")
    WORKSTATION = "workstation", _("监控工作站")
    OTHER = "other", _("其他")


# The subsystem a device type usually belongs to; the form pre-selects it.
DEFAULT_SUBSYSTEM: dict[str, str] = {
    DeviceType.CAMERA: Subsystem.VIDEO,
    DeviceType.ANPR_CAMERA: Subsystem.VIDEO,
    DeviceType.NVR: Subsystem.VIDEO,
    DeviceType.PERIMETER_DETECTOR: Subsystem.PERIMETER,
    DeviceType.ELECTRIC_FENCE: Subsystem.PERIMETER,
    DeviceType.ALARM_HOST: Subsystem.PERIMETER,
    DeviceType.PATROL_READER: Subsystem.PATROL,
    DeviceType.PATROL_CHECKPOINT: Subsystem.PATROL,
    DeviceType.BARRIER_CONTROLLER: Subsystem.PARKING,
    DeviceType.ACCESS_CONTROLLER: Subsystem.ACCESS,
    DeviceType.INTERCOM_OUTDOOR: Subsystem.INTERCOM,
    DeviceType.INTERCOM_INDOOR: Subsystem.INTERCOM,
    DeviceType.HOUSEHOLD_PANEL: Subsystem.HOUSEHOLD_ALARM,
    DeviceType.PANIC_BUTTON: Subsystem.HOUSEHOLD_ALARM,
    DeviceType.GATE: Subsystem.PHYSICAL,
    DeviceType.VIDEO_WALL: Subsystem.MONITORING_CENTRE,
    DeviceType.WORKSTATION: Subsystem.MONITORING_CENTRE,
}


class Vendor(models.TextChoices):
    HIKVISION = "hikvision", _("海康威视")
    DAHUA = "dahua", _("大华")
    UNIVIEW = "uniview", _("宇视")
    TIANDY = "tiandy", _("天地伟业")
    OTHER = "other", _("其他")


class DeviceStatus(models.TextChoices):
    PLANNED = "planned", _("计划安装")
    ACTIVE = "active", _("运行中")
    FAULTY = "faulty", _("故障")
    RETIRED = "retired", _("已停用")


class CertificateKind(models.TextChoices):
    """Art 24: products in the police security-product scope need a provincial production
    registration approval; others a statutory test/certification report."""

    PRODUCTION_APPROVAL = "production_approval", _("生产登记批准证书")
    TEST_REPORT = "test_report", _("检测/认证报告")
    APPRAISAL = "appraisal", _("鉴定证明")
