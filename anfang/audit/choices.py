"""Access audit vocabularies (Art 33(5))."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """What was done with protected data (Art 33(5)), in the access audit chain."""

    VIEW = "view", _("查看")
    SEARCH = "search", _("查询")
    EXPORT = "export", _("导出")
    DOWNLOAD = "download", _("下载")
    APPROVE = "approve", _("审批")


class BreakKind(models.TextChoices):
    """How the chain was found broken by the verifier."""

    EDITED = "edited", _("内容被篡改")
    DELETED = "deleted", _("条目被删除")
    REORDERED = "reordered", _("顺序被调换")


class ExportKind(models.TextChoices):
    """What a bulk export contains (Art 33(5): needs a second person's approval)."""

    VEHICLE_DATA = "vehicle_data", _("车辆数据")
    PICTURES = "pictures", _("图片")
    PERSONAL_DATA = "personal_data", _("个人信息")


class ExportStatus(models.TextChoices):
    REQUESTED = "requested", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
    EXPIRED = "expired", _("已过期")
    DOWNLOADED = "downloaded", _("已下载")


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel")
    CSV = "csv", _("CSV")
