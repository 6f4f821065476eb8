from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from vault.models import CredentialUse, ExchangeCredential


@admin.register(ExchangeCredential)
class ExchangeCredentialAdmin(admin.ModelAdmin[ExchangeCredential]):
    """Staff see the masked key, status and permissions; never a secret."""

    list_display = ["label", "owner", "exchange_id", "api_key_masked", "status", "last_verified_at"]
    list_filter = ["status", "exchange_id", "permissions_verified", "ip_restricted"]
    search_fields = ["owner__email", "label", "api_key_masked"]
    list_select_related = ["owner"]
    fields = (
        "id", "owner", "exchange_id", "label", "api_key_masked", "status", "status_reason",
        "permissions", "permissions_verified", "ip_restricted", "expires_at",
        "last_verified_at", "created_at", "updated_at", "deleted_at",
    )  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Deleting goes through the owner's flow, which erases the secret and logs it.
        return False


@admin.register(CredentialUse)
class CredentialUseAdmin(admin.ModelAdmin[CredentialUse]):
    list_display = ["created_at", "credential", "purpose", "detail"]
    list_filter = ["purpose"]
    list_select_related = ["credential"]
    search_fields = ["credential__owner__email"]
    readonly_fields = ["credential", "purpose", "created_at", "detail"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
