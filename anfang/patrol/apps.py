from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    name = "anfang.patrol"
    label = "patrol"
    verbose_name = _("电子巡查")

    def ready(self) -> None:
        from anfang.compliance.snapshot import OPERATION_LOADERS
        from anfang.events.writer import STORED_HOOKS

        from .compliance_facts import patrol_facts
        from .services import checkins_from_events

        OPERATION_LOADERS.setdefault("patrol", patrol_facts)
        if checkins_from_events not in STORED_HOOKS:
            STORED_HOOKS.append(checkins_from_events)
