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
