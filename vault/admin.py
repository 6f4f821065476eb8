from __future__ import annotations

from django.contrib import admin

from oneclick.admin_site import ReadOnlyAdmin, UndeletableAdmin
from vault.models import CredentialUse, ExchangeCredential


@admin.register(ExchangeCredential)
class ExchangeCredentialAdmin(UndeletableAdmin):
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


@admin.register(CredentialUse)
class CredentialUseAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "credential", "purpose", "detail"]
    list_filter = ["purpose"]
    list_select_related = ["credential"]
    search_fields = ["credential__owner__email"]
    readonly_fields = ["credential", "purpose", "created_at", "detail"]
