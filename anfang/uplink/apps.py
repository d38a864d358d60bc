from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UplinkConfig(AppConfig):
    name = "anfang.uplink"
    label = "uplink"
    verbose_name = _("公安联网上传")

    def ready(self) -> None:
        from anfang.compliance.snapshot import OPERATION_LOADERS

        from .compliance_facts import vehicle_facts

        # Art 9 (ANPR + police link working) and Art 11 (barrier decisions) from operational data.
        OPERATION_LOADERS.setdefault("vehicles", vehicle_facts)
