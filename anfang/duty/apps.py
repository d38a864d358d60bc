from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DutyConfig(AppConfig):
    name = "anfang.duty"
    label = "duty"
    verbose_name = _("值班管理")

    def ready(self) -> None:
        from anfang.compliance.snapshot import OPERATION_LOADERS

        from .compliance_facts import duty_facts, operation_facts

        OPERATION_LOADERS.setdefault("duty", duty_facts)
        OPERATION_LOADERS.setdefault("operation", operation_facts)
