from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VehiclesConfig(AppConfig):
    name = "anfang.vehicles"
    label = "vehicles"
    verbose_name = _("车辆管理")

    def ready(self) -> None:
        from anfang.events.writer import STORED_HOOKS

        from .passages import on_stored

        # Passages are written in the event transaction (Art 9 ANPR events → vehicle records).
        if on_stored not in STORED_HOOKS:
            STORED_HOOKS.append(on_stored)
