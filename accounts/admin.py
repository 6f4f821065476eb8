from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import SecurityEvent, TOTPDevice, User
from oneclick.admin_site import ReadOnlyAdmin, UndeletableAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "is_active", "is_staff", "date_joined", "last_login"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(SecurityEvent)
class SecurityEventAdmin(UndeletableAdmin):
    list_display = ["created_at", "kind", "user", "ip"]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__email", "ip"]
    list_select_related = ["user"]
    readonly_fields = ["created_at", "kind", "user", "ip", "user_agent", "detail"]
    date_hierarchy = "created_at"


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ReadOnlyAdmin):
    """Staff can see that a user has an authenticator, never its secret."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields
