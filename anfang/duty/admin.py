from django.contrib import admin

from .models import DailyRecord, DutySession, LogEntry, Shift


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ("duty_room", "operator", "starts_at", "ends_at", "note")
    list_filter = ("duty_room__compound",)
    date_hierarchy = "starts_at"


@admin.register(DutySession)
class DutySessionAdmin(admin.ModelAdmin):
    """Read-only: sign-on and sign-off go through the duty services, which write the duty log."""

    list_display = ("duty_room", "operator", "signed_on_at", "signed_off_at")
    list_filter = ("duty_room__compound",)
    date_hierarchy = "signed_on_at"

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "duty_room", "kind", "author", "text")
    list_filter = ("kind",)
    search_fields = ("text",)
    date_hierarchy = "at"

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DailyRecord)
class DailyRecordAdmin(admin.ModelAdmin):
    """Read-only: records are written by `manage.py daily_records` and the record page (Art 33(1))."""

    list_display = (
        "day",
        "compound",
        "final",
        "devices_heard",
        "devices_in_service",
        "alarms_raised",
        "unstaffed_minutes",
    )
    list_filter = ("final",)
    date_hierarchy = "day"

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
