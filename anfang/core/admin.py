from typing import Any

from django.contrib import admin

from .models import ApiToken, ChangeRecord, Organisation, RoleGrant


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "organisation"
    extra = 0
    autocomplete_fields = ["user", "compound"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "parent", "code", "contact_phone"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]
    inlines = [RoleGrantInline]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "organisation", "compound", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "organisation__name", "compound__name"]
    autocomplete_fields = ["user", "organisation", "compound"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # tokens are issued with `manage.py issue_token` so the raw value is shown once


@admin.register(ChangeRecord)
class ChangeRecordAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "object_repr", "compound", "actor"]
    list_filter = ["action", "content_type"]
    search_fields = ["object_repr", "compound__name", "actor__username"]
    date_hierarchy = "at"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # history is evidence
