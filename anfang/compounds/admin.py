"""Admin for every registry model. Saves and deletes go through services so the admin leaves
the same history and obeys the same rules as the pages and the API."""

from typing import Any

from django.contrib import admin

from . import models as m
from . import services


class RegistryAdmin(admin.ModelAdmin):
    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        services.save(request.user, obj, note="admin")

    def delete_model(self, request: Any, obj: Any) -> None:
        services.delete(request.user, obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for obj in queryset:
            services.delete(request.user, obj)


@admin.register(m.Compound)
class CompoundAdmin(RegistryAdmin):
    list_display = ["name", "police_station", "community", "property_company", "status", "households", "archived_at"]
    list_filter = ["status", "police_station__parent", "police_station"]
    search_fields = ["name", "address"]
    autocomplete_fields = ["police_station", "community", "property_company"]


class PartAdmin(RegistryAdmin):
    list_display = ["name", "compound"]
    search_fields = ["name", "compound__name"]
    autocomplete_fields = ["compound"]


for model, extra in [
    (m.Building, ["floors"]),
    (m.Unit, ["building", "entrance_door_standard", "intercom"]),
    (m.Entrance, ["role", "traffic", "gate_type", "barrier"]),
    (m.PerimeterSegment, ["barrier", "length_m", "electronic_protection"]),
    (m.ParkingLot, ["kind", "spaces"]),
    (m.ParkingEntrance, ["parking_lot", "barrier"]),
    (m.Elevator, ["building", "unit"]),
    (m.PublicArea, ["kind"]),
    (m.DutyRoom, ["area_m2", "relation", "entrance"]),
    (m.SecurityTeam, ["kind", "provider", "headcount", "full_time"]),
    (m.HouseholdDoorSurvey, ["surveyed_on", "households_surveyed", "standard_doors"]),
]:
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (PartAdmin,),
            {
                "list_display": ["name", "compound", *extra],
                "raw_id_fields": [f for f in ("building", "unit", "parking_lot", "entrance", "provider") if f in extra],
            },
        ),
    )
