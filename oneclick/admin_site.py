from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import IGNORED_PARAMS
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse

from vault.fields import VaultField


def vault_field_in_lookup(model: type[models.Model], lookup: str) -> VaultField | None:
    """The encrypted field a lookup such as ``owner__credentials__secret__regex`` reaches."""
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if isinstance(field, VaultField):
            return field
        if not field.is_relation or field.related_model is None:
            return None
        model = field.related_model
    return None


def refused_lookups(model: type[models.Model], params: Iterable[str]) -> list[str]:
    return [
        p for p in params if p not in IGNORED_PARAMS and vault_field_in_lookup(model, p) is not None
    ]


def bad_date_hierarchy(field: str | None, params: Mapping[str, str]) -> bool:
    """A date drill-down value Django's admin would turn into a 500.

    ``?created_at__year=99999…`` overflows ``datetime()`` with OverflowError,
    which the admin does not catch (it catches ValueError only).
    """
    if not field:
        return False
    return any(
        len(params.get(f"{field}__{part}", "")) > digits
        for part, digits in (("year", 4), ("month", 2), ("day", 2))
    )


class NoVaultLookupsMixin:
    """No admin filter reaches an encrypted column, whatever the ModelAdmin says.

    ``?secret__regex=^gAAAA`` would otherwise narrow rows by ciphertext (and
    the field refuses it with an exception, which the admin turned into a 500).
    """

    model: type[models.Model]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        if vault_field_in_lookup(self.model, lookup) is not None:
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        refused = refused_lookups(self.model, request.GET.keys())
        if refused:
            return HttpResponseBadRequest(
                f"Encrypted fields cannot be filtered on: {', '.join(sorted(refused))[:200]}",
                content_type="text/plain",
            )
        if bad_date_hierarchy(self.date_hierarchy, request.GET):  # type: ignore[attr-defined]
            return HttpResponseBadRequest("That date is not valid.", content_type="text/plain")
        return super().changelist_view(request, extra_context)  # type: ignore[misc]


class OneClickAdminSite(admin.AdminSite):
    """The admin, reachable only by staff who signed in with a one-time code."""

    site_header = "OneClick administration"
    site_title = "OneClick admin"

    def register(
        self,
        model_or_iterable: Any,
        admin_class: type[admin.ModelAdmin] | None = None,
        **options: Any,
    ) -> None:
        # Every ModelAdmin, ours and the libraries' (allauth, django-otp, django-q2).
        base = admin_class or admin.ModelAdmin
        guarded = type(base.__name__, (NoVaultLookupsMixin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, guarded, **options)

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Signed in with a password only: staff must use two-factor.
            messages.warning(request, "The admin needs two-factor authentication.")
            return redirect("accounts:twofa_overview")
        # One login for everybody: allauth's, followed by the OTP step.
        return redirect_to_login(
            request.GET.get("next", reverse("admin:index")), reverse("account_login")
        )
