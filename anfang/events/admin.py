"""Admin views of events and dead letters: read-only. Events are what devices said; dead letters are
handled on their pages (replay, discard), where the permission checks and the history are."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import DeadLetter, Event


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "received_at", "kind", "state", "severity", "device", "compound", "source", "flags"]
    list_filter = ["kind", "severity", "source", "state"]
    search_fields = ["=external_id", "=vendor_code"]
    ordering = ["-received_at", "-id"]
    list_select_related = ["device", "compound"]
    show_full_result_count = False  # COUNT(*) over the whole event table is too slow to show
    raw_id_fields = ["device", "compound"]


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ["id", "received_at", "reason", "source", "status", "device", "compound", "remote_addr", "body_size"]
    list_filter = ["reason", "source", "status", "truncated"]
    search_fields = ["=remote_addr", "detail", "device__name"]
    list_select_related = ["device", "compound"]
    exclude = ["body"]
    readonly_fields = ["body_preview", "page_link"]
    raw_id_fields = ["device", "compound"]

    @admin.display(description=_("原始报文"))
    def body_preview(self, obj: DeadLetter) -> str:
        from .views_deadletters import preview

        shown = preview(obj)
        text = shown.text if shown.text is not None else shown.hexdump
        return format_html('<pre style="white-space:pre-wrap;max-height:30rem;overflow:auto">{}</pre>', text or "")

    @admin.display(description=_("处理页面"))
    def page_link(self, obj: DeadLetter) -> str:
        url = reverse("events:dead_letter", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("在死信页面重放或丢弃"))
