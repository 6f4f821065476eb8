from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import IGNORED_PARAMS
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse

from sealed.fields import VaultField


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


BIGINT = 2**63


def _refuse_out_of_range_ids(formfield: forms.ModelChoiceField) -> None:
    """Make a choice field refuse ids its column cannot hold before it queries.

    Django looks the submitted ids up as they come: ``"9" * 400`` overflows the
    database's integer (OverflowError on SQLite: a 500 from the admin's forms).
    """
    if formfield.queryset is None:
        return
    pk = formfield.queryset.model._meta.pk
    if pk.get_internal_type() not in {
        "AutoField",
        "BigAutoField",
        "IntegerField",
        "BigIntegerField",
    }:
        return
    clean = formfield.clean

    def guarded_clean(value: Any) -> Any:
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            try:
                number = int(str(item))
            except ValueError:
                continue  # not a number: Django's own check refuses it
            if not -BIGINT <= number < BIGINT:
                raise ValidationError(
                    formfield.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": str(item)[:20]},
                )
        return clean(value)

    formfield.clean = guarded_clean  # type: ignore[method-assign]


class DepthSafeJSONField(forms.JSONField):
    """A JSON form field that answers too deep nesting as invalid input.

    Django's catches JSONDecodeError only: ``"[" * 5000`` raised RecursionError
    in ``json.loads`` (a 500), both when cleaning and when showing the form again.
    """

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": "…"}
            ) from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)


class NoVaultLookupsMixin:
    """No admin filter reaches an encrypted column, whatever the ModelAdmin says.

    ``?secret__regex=^gAAAA`` would otherwise narrow rows by ciphertext (and
    the field refuses it with an exception, which the admin turned into a 500).
    Choice fields of the admin's forms refuse ids out of the column's range, and
    JSON fields too deep nesting.
    """

    model: type[models.Model]

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if isinstance(db_field, models.JSONField):
            kwargs.setdefault("form_class", DepthSafeJSONField)
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        # The admin wraps choice fields' widgets, not the fields: the field is ours to guard.
        if isinstance(formfield, forms.ModelChoiceField):
            _refuse_out_of_range_ids(formfield)
        return formfield

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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system: staff read them, nobody adds or edits them here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class UndeletableAdmin(ReadOnlyAdmin):
    """Read-only and kept: evidence (security events, orders, fills) or rows whose
    removal has its own flow (a credential's deletion erases the secret and logs it)."""

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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
        user = request.user
        return super().has_permission(request) and user.is_authenticated and user.is_verified()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Signed in with a password only: staff must use two-factor.
            messages.warning(request, "The admin needs two-factor authentication.")
            return redirect("accounts:twofa_overview")
        # One login for everybody: allauth's, followed by the OTP step.
        return redirect_to_login(
            request.GET.get("next", reverse("admin:index")), reverse("account_login")
        )
