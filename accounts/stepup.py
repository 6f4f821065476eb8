"""Step-up: sensitive actions ask for a fresh one-time code, not a password.

A code entered within ``STEPUP_WINDOW_SECONDS`` unlocks sensitive actions for
that session. allauth's reauthentication accepts a password; this does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode, urlsplit

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.otp import has_two_factor

STEPUP_SESSION_KEY = "oneclick_stepup_at"


def mark_stepped_up(request: HttpRequest) -> None:
    request.session[STEPUP_SESSION_KEY] = time.time()


def has_fresh_stepup(request: HttpRequest) -> bool:
    at = request.session.get(STEPUP_SESSION_KEY)
    return at is not None and 0 <= time.time() - at <= settings.STEPUP_WINDOW_SECONDS


def require_fresh_otp(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run ``view`` only if the session entered a one-time code moments ago.

    Otherwise send the user to enter one and come back. A POST that arrives
    too late is not replayed: its form is shown again after the code (secrets
    in it are never echoed back into a page).
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not has_two_factor(request.user):
            messages.warning(request, "Turn on two-factor authentication first.")
            return redirect("accounts:twofa_setup")
        if has_fresh_stepup(request) and request.user.is_verified():
            return view(request, *args, **kwargs)
        next_url = request.get_full_path()
        if request.method == "POST":
            messages.warning(
                request, "Your confirmation expired. Enter a fresh code, then submit again."
            )
            # Back to the page the form was on: a POST-only URL cannot be revisited.
            referer = request.headers.get("Referer", "")
            if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
                next_url = urlsplit(referer).path or next_url
        return redirect(f"{reverse('accounts:stepup')}?{urlencode({'next': next_url})}")

    return guarded


def require_fresh_confirmation(
    view: Callable[..., HttpResponse], *, form_asks_password: bool = False
) -> Callable[..., HttpResponse]:
    """Guard account changes (email addresses, password) for every user.

    With two-factor on: a fresh one-time code (``require_fresh_otp``), so a
    password-only or stolen session cannot swap the address a reset mail goes
    to. Without it there is no code to ask: allauth's reauthentication asks for
    the password before a change (a POST), unless the form itself asks for the
    current password (``form_asks_password``, the password change).
    """
    with_code = require_fresh_otp(view)
    with_password = view if form_asks_password else reauthentication_required(view, allow_get=True)

    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if has_two_factor(request.user):
            return with_code(request, *args, **kwargs)
        return with_password(request, *args, **kwargs)

    return guarded
