from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DutyConfig(AppConfig):
    name = "anfang.duty"
    label = "duty"
    verbose_name = _("值班管理")
