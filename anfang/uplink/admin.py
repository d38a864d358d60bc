from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import OutboxMessage, UplinkAttempt


class AttemptInline(admin.TabularInline):
    model = UplinkAttempt
    fields = ("at", "ok", "http_status", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ("-id",)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: messages are written by `services.enqueue` and changed by the sender; re-queueing
    goes through the service (action below)."""

    list_display = ("id", "created_at", "compound", "kind", "external_id", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("external_id", "idempotency_key")
    list_select_related = ("compound",)
    show_full_result_count = False  # no COUNT(*) over a large outbox
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    inlines = [AttemptInline]
    actions = ["requeue"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # nothing lost: a message is kept whatever happened to it

    @admin.action(description=_("重新排队（发送失败或已放弃的消息）"))
    def requeue(self, request, queryset):
        n = services.requeue_many(queryset)
        self.message_user(request, _("已重新排队 %(n)d 条消息。") % {"n": n}, messages.SUCCESS)


@admin.register(UplinkAttempt)
class UplinkAttemptAdmin(admin.ModelAdmin):
    list_display = ("at", "message", "ok", "http_status", "status_code", "error", "duration_ms")
    list_filter = ("ok",)
    show_full_result_count = False
    readonly_fields = [f.name for f in UplinkAttempt._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
