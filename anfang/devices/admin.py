from typing import Any

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from anfang.compounds.admin import RegistryAdmin

from . import services
from .models import PLACE_FIELDS, Device, DeviceCredential, DeviceHealth


@admin.register(Device)
class DeviceAdmin(RegistryAdmin):
    list_display = ["name", "compound", "subsystem", "device_type", "vendor", "model", "ip_address", "status"]
    list_filter = ["subsystem", "device_type", "vendor", "status"]
    search_fields = ["name", "serial", "ip_address", "model", "compound__name"]
    autocomplete_fields = ["compound"]
    raw_id_fields = list(PLACE_FIELDS)


@admin.register(DeviceCredential)
class DeviceCredentialAdmin(admin.ModelAdmin):
    """Credentials are issued on the device page (the plain value is shown once there); here only the
    non-secret parts are shown — never the hashes — and ingestion can be stopped or resumed."""

    list_display = ["device", "token_prefix", "has_push_path", "allowed_sources", "enabled", "rotated_at"]
    list_filter = ["enabled"]
    search_fields = ["device__name", "token_prefix", "device__compound__name"]
    list_select_related = ["device"]
    fields = readonly_fields = ("device", "token_prefix", "allowed_sources", "enabled", "rotated_at")
    actions = ["stop_ingest", "resume_ingest"]

    @admin.display(boolean=True, description=_("密钥推送路径"))
    def has_push_path(self, obj: DeviceCredential) -> bool:
        return bool(obj.path_hash)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)  # the list and its actions only

    def _set_enabled(self, request: Any, queryset: Any, enabled: bool) -> None:
        for cred in queryset.select_related("device__compound"):
            services.set_ingest_enabled(request.user, cred.device, enabled)
        messages.success(request, _("已更新 %(n)d 台设备的接入状态。") % {"n": queryset.count()})

    @admin.action(description=_("停止接入所选设备"))
    def stop_ingest(self, request: Any, queryset: Any) -> None:
        self._set_enabled(request, queryset, False)

    @admin.action(description=_("恢复接入所选设备"))
    def resume_ingest(self, request: Any, queryset: Any) -> None:
        self._set_enabled(request, queryset, True)


@admin.register(DeviceHealth)
class DeviceHealthAdmin(admin.ModelAdmin):
    list_display = [
        "device",
        "last_seen_at",
        "last_event_at",
        "clock_skew_seconds",
        "clock_skew_flagged",
        "events",
        "duplicates",
        "dead_letters",
    ]
    list_filter = ["clock_skew_flagged"]
    search_fields = ["device__name", "device__compound__name"]
    list_select_related = ["device"]
    ordering = ["-last_seen_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # written by the ingest path only

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
