from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    name = "anfang.patrol"
    label = "patrol"
    verbose_name = _("电子巡查")
