"""Admin of the vehicles app: lists, manual opens and stays; passages read-only (they come from
devices and are evidence, Art 33(2))."""

from __future__ import annotations

from django.contrib import admin

from .models import BarrierOpen, ParkingStay, Passage, ResidentVehicle, VisitorPass, WatchEntry


@admin.register(ResidentVehicle)
class ResidentVehicleAdmin(admin.ModelAdmin):
    list_display = ("plate", "compound", "owner_name", "unit", "valid_from", "valid_to")
    list_filter = ("compound",)
    search_fields = ("plate", "owner_name", "owner_phone")
    raw_id_fields = ("compound", "unit", "parking_lot")


@admin.register(VisitorPass)
class VisitorPassAdmin(admin.ModelAdmin):
    list_display = ("plate", "compound", "visitor_name", "valid_from", "valid_to", "kind", "uses")
    list_filter = ("kind", "issued_by")
    search_fields = ("plate", "visitor_name", "host_name")
    raw_id_fields = ("compound", "host_unit", "created_by")


@admin.register(WatchEntry)
class WatchEntryAdmin(admin.ModelAdmin):
    list_display = ("plate", "compound", "reason", "expires_at", "notify_station", "hits")
    list_filter = ("notify_station",)
    search_fields = ("plate", "reason")
    raw_id_fields = ("compound", "added_by")


@admin.register(BarrierOpen)
class BarrierOpenAdmin(admin.ModelAdmin):
    list_display = ("opened_at", "compound", "plate", "reason", "opened_by")
    search_fields = ("plate", "reason")
    raw_id_fields = ("compound", "entrance", "parking_entrance", "device", "opened_by")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ParkingStay)
class ParkingStayAdmin(admin.ModelAdmin):
    list_display = ("plate", "compound", "parking_lot", "entered_at", "exited_at", "superseded")
    search_fields = ("plate",)
    raw_id_fields = ("compound", "parking_lot")


@admin.register(Passage)
class PassageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "compound_id", "plate", "plate_valid", "direction", "decision", "list_match")
    search_fields = ("plate",)
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
