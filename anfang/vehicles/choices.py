"""Choices of the vehicles app (Art 9, 11, 12)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    IN = "in", _("驶入")
    OUT = "out", _("驶出")
    UNKNOWN = "unknown", _("未知")


class Decision(models.TextChoices):
    ALLOW = "allow", _("放行")
    DENY = "deny", _("禁止")
    ASK = "ask", _("请值班员确认")
    NONE = "none", _("未判定")


class DecisionReason(models.TextChoices):
    """Why the barrier decision came out as it did (Art 11)."""

    RESIDENT = "resident", _("业主车辆")
    VISITOR = "visitor", _("有效访客")
    WATCH = "watch", _("布控名单")
    LOT_FULL = "lot_full", _("车位已满")
    UNKNOWN = "unknown", _("未登记车辆")
    UNREADABLE = "unreadable", _("车牌无法识别")
    EXIT = "exit", _("驶出")
    MANUAL = "manual", _("人工开闸")


class ListMatch(models.TextChoices):
    RESIDENT = "resident", _("业主车辆")
    VISITOR = "visitor", _("访客")
    WATCH = "watch", _("布控名单")
    NONE = "none", _("无")


class PassageFlag(models.TextChoices):
    """Why a passage needs a second look; stored in Passage.flags."""

    NO_ENTRANCE = "no_entrance", _("设备未关联出入口")
    INVALID_PLATE = "invalid_plate", _("车牌无效")
    LOW_CONFIDENCE = "low_confidence", _("识别置信度低")
    NO_PICTURE = "no_picture", _("无图片")


class PictureRole(models.TextChoices):
    PLATE = "plate", _("车牌图")
    SCENE = "scene", _("场景图")


class PassKind(models.TextChoices):
    SINGLE = "single", _("单次")
    MULTIPLE = "multiple", _("多次")


class PassIssuer(models.TextChoices):
    RESIDENT = "resident", _("业主")
    GUARD = "guard", _("值班员")


class PlateColour(models.TextChoices):
    BLUE = "blue", _("蓝")
    YELLOW = "yellow", _("黄")
    GREEN = "green", _("绿")
    YELLOW_GREEN = "yellow_green", _("黄绿")
    WHITE = "white", _("白")
    BLACK = "black", _("黑")
    OTHER = "other", _("其他")
