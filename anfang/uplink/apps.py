from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UplinkConfig(AppConfig):
    name = "anfang.uplink"
    label = "uplink"
    verbose_name = _("公安联网上传")
