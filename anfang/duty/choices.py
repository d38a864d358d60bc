from django.db import models
from django.utils.translation import gettext_lazy as _


class LogKind(models.TextChoices):
    """Entries of the duty log (值班记录, Art 16: 完整记载值班记录)."""

    MANUAL = "manual", _("手工记录")
    ALARM = "alarm", _("报警处置")
    SIGN_ON = "sign_on", _("上岗")
    SIGN_OFF = "sign_off", _("下岗")
    HANDOVER = "handover", _("交接班")
