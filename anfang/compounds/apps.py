from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompoundsConfig(AppConfig):
    name = "anfang.compounds"
    label = "compounds"
    verbose_name = _("小区登记")
