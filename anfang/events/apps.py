from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "anfang.events"
    label = "events"
    verbose_name = _("设备事件")
