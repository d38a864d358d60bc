"""The data classes the platform keeps for a time and then purges, with their legal floors.

Each class names its model by label (read through `apps.get_model`, so patrol and vehicles can be
absent), the time column the retention runs on, where its media references live, how a row finds
its compound and device (for legal holds) and the floor below which no policy may go.

Floors: Art 33(2) fixes two numbers — video at least 1 month (视频图像的存储时间不少于1个月), vehicle
data and pictures at least 3 months (车辆数据与照片的存储时间不少于3个月). For the other classes the
regulation gives no number; the floors below are the platform's, with the reason given in `basis`
(and shown on the policies page as such)."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import DataClass


@dataclass(frozen=True)
class Spec:
    key: str
    model_label: str
    time_field: str
    floor_days: int
    default_days: int
    article: str  # the article the floor rests on, "" when the regulation has no number
    basis: object  # why this floor (lazy zh text)
    media_field: str = ""
    compound_path: str = "compound_id"
    device_path: str = ""  # "" when the class has no device (holds by device do not touch it)
    prefix_only: bool = False  # purge only whole prefixes in id order (the audit hash chain)

    @property
    def label(self) -> str:
        return str(DataClass(self.key).label)

    @property
    def statutory(self) -> bool:
        """The floor is a number written in the regulation (not the platform's own)."""
        return bool(self.article)

    def model(self) -> type[models.Model] | None:
        """The model, or None while its app is not installed / not written yet."""
        app_label, name = self.model_label.split(".")
        try:
            return apps.get_model(app_label, name)
        except LookupError:
            return None


ART_33_2 = "第33条第2项"

CLASSES: dict[str, Spec] = {
    spec.key: spec
    for spec in (
        Spec(
            DataClass.EVENTS,
            "events.Event",
            "received_at",
            floor_days=90,
            default_days=90,
            article=ART_33_2,
            basis=_("设备事件含车牌识别事件及其车辆照片：车辆数据与照片不少于3个月"),
            media_field="media",
            device_path="device_id",
        ),
        Spec(
            DataClass.VEHICLE_PASSAGES,
            "vehicles.Passage",
            "received_at",
            floor_days=90,
            default_days=180,
            article=ART_33_2,
            basis=_("车辆数据与照片的存储时间不少于3个月"),
            media_field="pictures",
            device_path="device_id",
        ),
        Spec(
            DataClass.PATROL_CHECKINS,
            "patrol.Checkin",
            "received_at",
            floor_days=90,
            default_days=180,
            article="",
            basis=_(
                "法规未规定期限。签到照片属监控系统记录的图像（第33条第2项、第5项），且为第10条巡查和"
                "第34条监督检查的依据，按照片的3个月下限执行"
            ),
            media_field="photo",
            device_path="reader_id",  # the patrol reader (巡更棒) that recorded the check-in
        ),
        Spec(
            DataClass.ALARMS,
            "alarms.Alarm",
            "closed_at",
            floor_days=365,
            default_days=1095,
            article="",
            basis=_(
                "法规未规定期限。报警处置记录是第16条值班和向公安机关报警的凭证，公安机关监督检查（第34条）"
                "按年度进行，至少保留1年；未关闭的报警不清理"
            ),
            device_path="device_id",
        ),
        Spec(
            DataClass.DUTY_LOGS,
            "duty.LogEntry",
            "at",
            floor_days=365,
            default_days=1095,
            article="",
            basis=_("法规未规定期限。值班记录是第16条“完整记载值班记录”的凭证，供年度监督检查（第34条），至少保留1年"),
            compound_path="duty_room__compound_id",
        ),
        Spec(
            DataClass.AUDIT,
            "audit.AuditEntry",
            "at",
            floor_days=180,
            default_days=1095,
            article="",
            basis=_(
                "法规未规定期限。访问审计落实第33条第5项；参照《网络安全法》第21条网络日志留存不少于6个月。"
                "只清理链首的整段记录并保存检查点，哈希链仍可校验"
            ),
            prefix_only=True,
        ),
        Spec(
            DataClass.VIDEO_INDEX,
            "retention.VideoRetentionReport",
            "reported_at",
            floor_days=30,
            default_days=90,
            article=ART_33_2,
            basis=_("视频图像的存储时间不少于1个月；录像存储报告是其证据，至少与视频同样长"),
            device_path="device_id",
        ),
    )
}

# Order of a full purge: duty logs before alarms (a log entry protects the alarm it cites).
PURGE_ORDER = (
    DataClass.EVENTS,
    DataClass.VEHICLE_PASSAGES,
    DataClass.PATROL_CHECKINS,
    DataClass.DUTY_LOGS,
    DataClass.ALARMS,
    DataClass.VIDEO_INDEX,
    DataClass.AUDIT,
)


def spec(key: str) -> Spec:
    return CLASSES[key]


def media_classes() -> list[Spec]:
    return [s for s in CLASSES.values() if s.media_field and s.model() is not None]
