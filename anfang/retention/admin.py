from django.contrib import admin

from .models import AuditCheckpoint, LegalHold, PurgeRun, RetentionPolicy, VideoRetentionReport


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    """Read-only here: a change must pass the floor check of services.set_policy (the policies page)."""

    list_display = ("data_class", "compound", "days", "updated_by", "updated_at")
    list_filter = ("data_class",)
    readonly_fields = ("data_class", "compound", "days", "note", "updated_by", "updated_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    list_display = ("case_number", "compound", "device", "data_from", "data_to", "owner", "created_at", "released_at")
    list_filter = ("released_at",)
    search_fields = ("case_number", "reason")
    raw_id_fields = ("compound", "device", "owner", "released_by")

    def has_delete_permission(self, request, obj=None):
        return False  # a hold is released, never deleted: the record of it stays


@admin.register(PurgeRun)
class PurgeRunAdmin(admin.ModelAdmin):
    list_display = ("id", "started_at", "actor", "trigger", "dry_run", "data_class", "status", "duration_ms")
    list_filter = ("status", "dry_run")
    readonly_fields = [f.name for f in PurgeRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(admin.ModelAdmin):
    list_display = ("seq", "hash", "at", "purged_at")
    readonly_fields = ("seq", "hash", "at", "purged_at", "purge_run")

    def has_add_permission(self, request):
        return False


@admin.register(VideoRetentionReport)
class VideoRetentionReportAdmin(admin.ModelAdmin):
    list_display = ("device", "channel", "camera", "earliest", "days", "source", "reported_at")
    list_filter = ("source",)
    raw_id_fields = ("compound", "device", "camera")
