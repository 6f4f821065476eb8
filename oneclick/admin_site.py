from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


class OneClickAdminSite(admin.AdminSite):
    """The admin, reachable only by staff who signed in with a one-time code."""

    site_header = "OneClick administration"
    site_title = "OneClick admin"

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
