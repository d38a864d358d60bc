from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "anfang.events"
    label = "events"
    verbose_name = _("设备事件")

    def ready(self) -> None:
        # The event table's day partitions are registered with core.partitions at start-up, so
        # that every process (the scheduler, the purge) knows the table, not only the one that
        # happened to import the events' maintenance module.
        from . import partitions  # noqa: F401
