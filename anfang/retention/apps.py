from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "anfang.retention"
    label = "retention"
    verbose_name = _("存储保留")

    def ready(self) -> None:
        from anfang.compliance.snapshot import OPERATION_LOADERS

        from .compliance_facts import retention_facts

        OPERATION_LOADERS.setdefault("retention", retention_facts)
