"""Enumerations of the compound registry, each citing the article it serves."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ManagementMode(models.TextChoices):
    """Art 5 (物业管理) / Art 6 (无物业管理): derived from whether a property company is set."""

    MANAGED = "managed", _("物业管理")
    UNMANAGED = "unmanaged", _("无物业管理")


class CompoundStatus(models.TextChoices):
    PLANNED = "planned", _("规划中")
    UNDER_CONSTRUCTION = "under_construction", _("建设中")
    IN_USE = "in_use", _("已投入使用")


class EntranceRole(models.TextChoices):
    """Art 12 names main and secondary entrances; Art 15 puts the duty room at the main one."""

    MAIN = "main", _("主出入口")
    SECONDARY = "secondary", _("次出入口")
    EMERGENCY = "emergency", _("应急出入口")


class Traffic(models.TextChoices):
    VEHICLE = "vehicle", _("车行")
    PEDESTRIAN = "pedestrian", _("人行")
    MIXED = "mixed", _("人车混行")


class GateType(models.TextChoices):
    """Art 12: 电动伸缩门或金属防护门."""

    ELECTRIC_SLIDING = "electric_sliding", _("电动伸缩门")
    METAL_PROTECTIVE = "metal_protective", _("金属防护门")
    OTHER = "other", _("其他")
    NONE = "none", _("无")


class BarrierKind(models.TextChoices):
    """Art 12: 手（电）动道闸."""

    ELECTRIC = "electric", _("电动道闸")
    MANUAL = "manual", _("手动道闸")
    NONE = "none", _("无道闸")


class PerimeterBarrier(models.TextChoices):
    """Art 8: 围墙、栅栏等屏障进行封闭式防护."""

    WALL = "wall", _("围墙")
    FENCE = "fence", _("栅栏")
    RAILING = "railing", _("护栏")
    BUILDING = "building", _("建筑外墙")
    OPEN = "open", _("未封闭")


class IntercomKind(models.TextChoices):
    """Art 13: 联网型楼宇对讲系统."""

    NETWORKED = "networked", _("联网型")
    STANDALONE = "standalone", _("非联网型")
    NONE = "none", _("无")


class ParkingKind(models.TextChoices):
    UNDERGROUND = "underground", _("地下停车库")
    SURFACE = "surface", _("地面停车场")
    MULTI_STOREY = "multi_storey", _("立体停车库")


class AreaKind(models.TextChoices):
    """Art 9: 小区内主要通道及广场."""

    MAIN_ROAD = "main_road", _("主要通道")
    SQUARE = "square", _("广场")


class DutyRoomRelation(models.TextChoices):
    """Art 15: 治安值班室和小区监控中心应当连通或者合二为一."""

    MERGED = "merged", _("合二为一")
    CONNECTED = "connected", _("连通")
    SEPARATE = "separate", _("分设未连通")


class TeamKind(models.TextChoices):
    GUARD_FORCE = "guard_force", _("物业保安队伍（第5条）")
    PATROL_TEAM = "patrol_team", _("社区专职巡防队伍（第6条）")


class LockGrade(models.TextChoices):
    """Art 14: 鼓励安装等级为B级以上的锁具."""

    A = "A", _("A级")
    B = "B", _("B级")
    C = "C", _("C级")
    UNKNOWN = "unknown", _("未知")
