from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.backup_codes import remaining_backup_codes
from accounts.events import RequestMeta
from accounts.forms import OTPCodeForm, TOTPConfirmForm, TwoFactorDisableForm
from accounts.http import AuthenticatedHttpRequest
from accounts.models import TelegramLink
from accounts.otp import OTPThrottled, has_two_factor, mark_session_verified, verify_otp
from accounts.services import (
    TwoFactorError,
    backup_codes_regenerate,
    totp_device_confirm,
    totp_device_pending,
    totp_device_start,
    two_factor_disable,
)
from accounts.stepup import has_fresh_stepup, mark_stepped_up, require_fresh_otp
from accounts.telegram_links import telegram_link_start, telegram_unlink
from accounts.totp import base32_secret, provisioning_uri


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() would take "-1" or "foo" for a URL
    # name and fail (500) on it.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "landing.html")


@login_required
def security_events(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = Paginator(request.user.security_events.all(), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/security_events.html", {"page": page})


@login_required
def ip_whitelist(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "accounts/ip_whitelist.html", {"egress_ips": settings.EGRESS_IPS})


def _code_form_view(
    request: AuthenticatedHttpRequest, *, purpose: str, template: str
) -> HttpResponse:
    """Ask for a one-time code; on success mark the session and go on."""
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ok = verify_otp(
                request=request, user=request.user, code=form.cleaned_data["code"], purpose=purpose
            )
        except OTPThrottled as exc:
            form.add_error("code", str(exc))
        else:
            if ok:
                mark_stepped_up(request)
                return redirect(_safe_next(request, "dashboard"))
            form.add_error("code", "That code is not right, or it was already used.")
    return render(request, template, {"form": form, "next": _safe_next(request, "")}, status=200)


@login_required
def otp_login(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.user.is_verified() or not has_two_factor(request.user):
        return redirect(_safe_next(request, "dashboard"))
    return _code_form_view(request, purpose="login", template="accounts/otp_login.html")


@login_required
def stepup(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not has_two_factor(request.user):
        messages.warning(request, "Turn on two-factor authentication first.")
        return redirect("accounts:twofa_setup")
    return _code_form_view(request, purpose="stepup", template="accounts/stepup.html")


@login_required
def twofa_overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/twofa_overview.html",
        {
            "two_factor": has_two_factor(request.user),
            "backup_codes_left": remaining_backup_codes(request.user),
            "disable_form": TwoFactorDisableForm(),
        },
    )


@login_required
def twofa_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    replacing = has_two_factor(request.user)
    # Replacing the authenticator is a sensitive action: it needs a fresh code.
    if replacing and not has_fresh_stepup(request):
        return require_fresh_otp(twofa_setup)(request)
    if request.method == "POST" and request.POST.get("action") == "start":
        totp_device_start(user=request.user)
        return redirect("accounts:twofa_setup")
    device = totp_device_pending(user=request.user)
    if device is None:
        return render(request, "accounts/twofa_setup.html", {"replacing": replacing})
    form = TOTPConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_device_confirm(
                meta=RequestMeta.of(request), device=device, code=form.cleaned_data["code"]
            )
        except TwoFactorError as exc:
            form.add_error("code", str(exc))
        else:
            # The session that proved the code is the one trusted from now on.
            mark_session_verified(request, device)
            mark_stepped_up(request)
            if codes:
                return render(request, "accounts/backup_codes.html", {"codes": codes})
            messages.success(request, "Your new authenticator app is set up.")
            return redirect("accounts:twofa_overview")
    uri = provisioning_uri(hex_key=device.key, account=request.user.email)
    return render(
        request,
        "accounts/twofa_setup.html",
        {
            "form": form,
            "replacing": replacing,
            "qr_svg": segno.make(uri, error="m").svg_inline(scale=5, dark="#0b1f33"),
            "secret": base32_secret(device.key),
        },
    )


@login_required
@require_POST
def twofa_disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TwoFactorDisableForm(request.POST)
    if form.is_valid():
        try:
            ok = verify_otp(
                request=request,
                user=request.user,
                code=form.cleaned_data["code"],
                purpose="disable_2fa",
            )
        except OTPThrottled as exc:
            form.add_error("code", str(exc))
        else:
            if ok:
                two_factor_disable(meta=RequestMeta.of(request), user=request.user)
                messages.success(request, "Two-factor authentication is off. We emailed you.")
                return redirect("accounts:twofa_overview")
            form.add_error("code", "That code is not right, or it was already used.")
    context = {
        "two_factor": True,
        "backup_codes_left": remaining_backup_codes(request.user),
        "disable_form": form,
    }
    return render(request, "accounts/twofa_overview.html", context, status=400)


@require_fresh_otp
def backup_codes_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "accounts/backup_codes_new.html")
    codes = backup_codes_regenerate(meta=RequestMeta.of(request), user=request.user)
    return render(request, "accounts/backup_codes.html", {"codes": codes})


@login_required
def notifications(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where alerts go: email always, Telegram when linked."""
    deep_link = None
    if request.method == "POST":
        if request.POST.get("action") == "unlink":
            telegram_unlink(request=request, user=request.user)
            messages.success(request, "Telegram is unlinked.")
            return redirect("accounts:notifications")
        if settings.TELEGRAM_BOT_TOKEN:
            deep_link = telegram_link_start(user=request.user)
    return render(
        request,
        "accounts/notifications.html",
        {
            "telegram": TelegramLink.objects.filter(user=request.user).first(),
            "telegram_enabled": bool(settings.TELEGRAM_BOT_TOKEN),
            "deep_link": deep_link,
            "minutes": settings.TELEGRAM_LINK_TOKEN_MINUTES,
        },
    )
