from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.otp import CODE_OWED_SESSION_KEY, has_two_factor

# Views a signed-in user may reach before entering their one-time code.
OTP_EXEMPT_VIEWS = {"accounts:otp_login", "account_logout", "telegram_webhook"}


class RequireOTPMiddleware:
    """A password alone is half a login for users with two-factor on.

    Until the session has entered a one-time code, every page but the code
    page and sign-out redirects to the code page. This also covers a password
    reset followed by a login: the code is still asked.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OTP_EXEMPT_VIEWS:
            return None
        two_factor = has_two_factor(user)
        # The dashboard's setup checklist shows the same fact: one query per request.
        request.two_factor = two_factor  # type: ignore[attr-defined]
        if not two_factor:
            if request.session.get(CODE_OWED_SESSION_KEY):
                # Signed in with the password while two-factor was on, and two-factor
                # was turned off before this session entered a code: half a login
                # does not become a whole one.
                logout(request)
                return redirect_to_login(request.get_full_path())
            return None
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:otp_login')}?{query}")
