from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class OneClickAdminSite(admin.AdminSite):
    """The admin, reachable only by staff who signed in with a one-time code."""

    site_header = "OneClick administration"
    site_title = "OneClick admin"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # One login for everybody: allauth's, followed by the OTP step.
        return redirect_to_login(
            request.GET.get("next", reverse("admin:index")), reverse("account_login")
        )
