from django.contrib import admin

from .models import (
    Checkin,
    Checkpoint,
    PatrolException,
    PatrolRun,
    PatrolTeam,
    Plan,
    ReaderUpload,
    Route,
    RouteCheckpoint,
)


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ("name", "compound", "tag_kind", "code", "location", "active")
    list_filter = ("tag_kind", "active")
    search_fields = ("name", "code", "location", "compound__name")
    raw_id_fields = ("compound", "building", "unit", "public_area", "device")


@admin.register(PatrolTeam)
class PatrolTeamAdmin(admin.ModelAdmin):
    list_display = ("name", "organisation", "active")
    list_filter = ("active",)
    search_fields = ("name", "organisation__name")
    filter_horizontal = ("members", "compounds")


class StopInline(admin.TabularInline):
    model = RouteCheckpoint
    extra = 0
    raw_id_fields = ("checkpoint",)


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ("name", "compound", "ordered", "min_minutes", "max_minutes", "active")
    list_filter = ("ordered", "active")
    search_fields = ("name", "compound__name")
    raw_id_fields = ("compound",)
    inlines = [StopInline]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "route", "start_times", "window_minutes", "weekdays", "valid_from", "valid_to", "active")
    list_filter = ("active",)
    search_fields = ("name", "route__name")
    raw_id_fields = ("route", "guard", "team", "duty_room")


@admin.register(PatrolRun)
class PatrolRunAdmin(admin.ModelAdmin):
    """Results are written by the evaluation; edit the plan, not the run."""

    list_display = ("route", "compound", "window_start", "window_end", "guard", "status", "completed_count", "score")
    list_filter = ("status", "punctuality")
    date_hierarchy = "window_start"
    search_fields = ("route__name", "compound__name")
    raw_id_fields = ("plan", "route", "compound", "guard", "team")

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnly(admin.ModelAdmin):
    """Records of what was read and uploaded: evidence, not edited (Art 10 process control)."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Checkin)
class CheckinAdmin(ReadOnly):
    list_display = ("occurred_at", "code", "checkpoint", "run_id", "guard", "source", "flags", "eligible")
    list_filter = ("source", "eligible")
    search_fields = ("code", "client_id")
    date_hierarchy = "occurred_at"


@admin.register(PatrolException)
class PatrolExceptionAdmin(ReadOnly):
    list_display = ("at", "compound", "kind", "guard", "checkpoint", "run")
    list_filter = ("kind",)
    date_hierarchy = "at"


@admin.register(ReaderUpload)
class ReaderUploadAdmin(ReadOnly):
    list_display = (
        "received_at",
        "reader",
        "uploaded_by",
        "read_count",
        "accepted_count",
        "duplicate_count",
        "unknown_count",
        "rejected_count",
    )
    date_hierarchy = "received_at"
