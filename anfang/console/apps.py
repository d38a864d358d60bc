from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "anfang.console"
    label = "console"
    verbose_name = _("值班台")

    def ready(self) -> None:
        from anfang.events.writer import STORED_HOOKS

        from .hooks import announce_events

        if announce_events not in STORED_HOOKS:
            STORED_HOOKS.append(announce_events)
