from django.contrib import admin

from .models import Alarm, AlarmRule, AlarmStep, PoliceReport


@admin.register(AlarmRule)
class AlarmRuleAdmin(admin.ModelAdmin):
    list_display = ("compound", "kind", "raises_alarm", "priority", "correlation_seconds", "escalate_after_seconds")
    list_filter = ("kind", "raises_alarm", "priority")
    search_fields = ("compound__name",)
    autocomplete_fields = ("compound",)


class StepInline(admin.TabularInline):
    model = AlarmStep
    extra = 0
    can_delete = False
    readonly_fields = ("step", "at", "actor", "note")


@admin.register(Alarm)
class AlarmAdmin(admin.ModelAdmin):
    """Read-only here: alarm handling goes through the workflow (services), which times each step."""

    list_display = ("id", "compound", "device", "kind", "priority", "status", "raised_at", "event_count", "stale")
    list_filter = ("status", "priority", "kind", "stale")
    search_fields = ("compound__name", "device__name")
    inlines = [StepInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(PoliceReport)
class PoliceReportAdmin(admin.ModelAdmin):
    list_display = ("alarm", "reported_at", "means", "report_number", "officer", "reported_by")
    list_filter = ("means",)

    def has_change_permission(self, request, obj=None):
        return False
