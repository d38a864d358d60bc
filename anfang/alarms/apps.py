from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlarmsConfig(AppConfig):
    name = "anfang.alarms"
    label = "alarms"
    verbose_name = _("报警处置")

    def ready(self) -> None:
        from anfang.events.writer import STORED_HOOKS

        from .services import raise_alarms

        if raise_alarms not in STORED_HOOKS:
            STORED_HOOKS.append(raise_alarms)
