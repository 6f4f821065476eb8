"""Times shown in the user's zone: their setting, else the browser's, else UTC."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any, cast
from urllib.parse import unquote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.http import AuthenticatedHttpRequest

COOKIE = "tz"  # set by static/js/app.js from Intl.DateTimeFormat


@cache
def zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def zone_or_none(name: str | None) -> zoneinfo.ZoneInfo | None:
    if not name or name not in zone_names():
        return None  # never hand a request's text to the file-system lookup
    return zoneinfo.ZoneInfo(name)


def zone_for(request: HttpRequest) -> tuple[zoneinfo.ZoneInfo | None, str]:
    """The zone and where it came from: "user", "browser" or "default" (UTC)."""
    user = getattr(request, "user", None)
    chosen = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
    if zone := zone_or_none(chosen):
        return zone, "user"
    if zone := zone_or_none(unquote(request.COOKIES.get(COOKIE, ""))):
        return zone, "browser"
    return None, "default"


class TimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone, request.time_zone_source = zone_for(request)  # type: ignore[attr-defined]
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Every time on the site is shown in this zone, and labelled with it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = [("", "Same as my browser")] + [
            (name, name.replace("_", " ")) for name in zone_names()
        ]


@login_required
def time_zone_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST or None, initial={"time_zone": request.user.time_zone})
    if request.method == "POST" and form.is_valid():
        request.user.time_zone = form.cleaned_data["time_zone"]
        request.user.save(update_fields=["time_zone"])
        messages.success(request, "Time zone saved.")
        return redirect("accounts:time_zone")
    return render(
        request,
        "accounts/time_zone.html",
        {"form": form, "current": timezone.get_current_timezone_name()},
    )
