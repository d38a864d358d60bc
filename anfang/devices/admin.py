from django.contrib import admin

from anfang.compounds.admin import RegistryAdmin

from .models import PLACE_FIELDS, Device


@admin.register(Device)
class DeviceAdmin(RegistryAdmin):
    list_display = ["name", "compound", "subsystem", "device_type", "vendor", "model", "ip_address", "status"]
    list_filter = ["subsystem", "device_type", "vendor", "status"]
    search_fields = ["name", "serial", "ip_address", "model", "compound__name"]
    autocomplete_fields = ["compound"]
    raw_id_fields = list(PLACE_FIELDS)
