from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.events import RequestMeta
from accounts.http import AuthenticatedHttpRequest
from accounts.otp import has_two_factor
from accounts.stepup import require_fresh_otp
from paper.keys import new_credentials
from vault.exchanges import GUIDES, exchange_info
from vault.forms import LinkCredentialForm, exchange_hints
from vault.permissions import PERMISSION_NAMES, KeyRefused
from vault.selectors import credential_of, credentials_of
from vault.services import (
    credential_delete,
    credential_disable,
    credential_enable,
    credential_link,
)
from vault.verification import ExchangeUnavailable

SECRET_FIELDS = ("api_key", "secret", "passphrase")


def _warn(request: HttpRequest, warnings: list[str]) -> None:
    if "ip_unrestricted" in warnings:
        messages.warning(
            request,
            format_html(
                "This key works from any IP address. Restrict it to "
                '<a href="{}">our IP addresses</a> on the exchange, so a stolen key is useless.',
                reverse("accounts:ip_whitelist"),
            ),
        )
    if "ip_unverified" in warnings:
        messages.warning(
            request,
            format_html(
                "This exchange does not tell us whether the key is restricted to "
                '<a href="{}">our IP addresses</a>. Make sure it is, so a stolen key is useless.',
                reverse("accounts:ip_whitelist"),
            ),
        )
    if "permissions_unverified" in warnings:
        messages.warning(
            request,
            "This exchange gives us no safe way to check whether the key can withdraw; "
            "we rely on your confirmation that it cannot.",
        )


@login_required
def credential_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "vault/credential_list.html",
        {"credentials": credentials_of(request.user), "two_factor": has_two_factor(request.user)},
    )


@sensitive_post_parameters(*SECRET_FIELDS)
@require_fresh_otp
def credential_link_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = LinkCredentialForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = credential_link(
                meta=RequestMeta.of(request),
                user=request.user,
                exchange_id=data["exchange_id"],
                label=data["label"],
                api_key=data["api_key"],
                secret=data["secret"],
                passphrase=data.get("passphrase") or "",
                uid=data.get("uid") or "",
                trade_only_confirmed=data["trade_only_confirmed"],
            )
        except (KeyRefused, ExchangeUnavailable) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Your {exchange_info(data['exchange_id']).name} key is linked."
            )
            _warn(request, result.warnings)
            return redirect("vault:detail", result.credential.pk)
    return render(
        request,
        "vault/credential_link.html",
        {"form": form, "hints": exchange_hints(), "guides": _guide_links()},
    )


def _guide_links() -> list[tuple[str, str]]:
    return [
        (reverse("vault:guide", args=[slug]), " / ".join(exchange_info(x).name for x in ids))
        for slug, ids in GUIDES.items()
    ]


def exchange_guide(request: HttpRequest, exchange: str) -> HttpResponse:
    """How to create a trade-only key on one exchange (public: read it before signing up)."""
    if exchange not in GUIDES:
        raise Http404("No guide for this exchange")
    infos = [exchange_info(x) for x in GUIDES[exchange]]
    withdraw, trade = PERMISSION_NAMES[infos[0].id]
    return render(
        request,
        f"vault/guide_{exchange}.html",
        {
            "exchanges": infos,
            "name": " / ".join(info.name for info in infos),
            "withdraw_permission": withdraw,
            "trade_permission": trade,
            "egress_ips": settings.EGRESS_IPS,
            "guides": _guide_links(),
        },
    )


@login_required
def credential_detail(request: AuthenticatedHttpRequest, credential_id: str) -> HttpResponse:
    credential = credential_of(request.user, credential_id)
    uses = Paginator(credential.uses.all(), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "vault/credential_detail.html",
        {"credential": credential, "uses": uses, "exchange": exchange_info(credential.exchange_id)},
    )


@login_required
@require_POST
def credential_disable_view(request: AuthenticatedHttpRequest, credential_id: str) -> HttpResponse:
    credential = credential_of(request.user, credential_id)
    credential_disable(meta=RequestMeta.of(request), credential=credential)
    messages.success(request, "The key is disabled. Nothing will trade with it.")
    return redirect("vault:detail", credential.pk)


@require_fresh_otp
def credential_enable_view(request: AuthenticatedHttpRequest, credential_id: str) -> HttpResponse:
    credential = credential_of(request.user, credential_id)
    if request.method != "POST":
        return render(
            request, "vault/credential_confirm.html", {"credential": credential, "action": "enable"}
        )
    try:
        warnings = credential_enable(meta=RequestMeta.of(request), credential=credential)
    except (KeyRefused, ExchangeUnavailable) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The key is active again.")
        _warn(request, warnings)
    return redirect("vault:detail", credential.pk)


@require_fresh_otp
def credential_delete_view(request: AuthenticatedHttpRequest, credential_id: str) -> HttpResponse:
    credential = credential_of(request.user, credential_id)
    if request.method != "POST":
        return render(
            request, "vault/credential_confirm.html", {"credential": credential, "action": "delete"}
        )
    credential_delete(meta=RequestMeta.of(request), credential=credential)
    messages.success(request, "The key is deleted: its secret is erased from our database.")
    return redirect("vault:list")


@require_fresh_otp
@require_POST
def credential_link_paper_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A new paper account with generated keys: try everything without an exchange."""
    api_key, secret = new_credentials()
    # A second one gets a number: the bot form and dashboard list keys by name.
    earlier = credentials_of(request.user).filter(exchange_id="paper").count()
    try:
        result = credential_link(
            meta=RequestMeta.of(request),
            user=request.user,
            exchange_id="paper",
            label="Paper account" if not earlier else f"Paper account {earlier + 1}",
            api_key=api_key,
            secret=secret,
        )
    except (KeyRefused, ExchangeUnavailable) as exc:
        messages.error(request, str(exc))
        return redirect("vault:link")
    messages.success(request, "Your paper account is ready, with test funds. No real money moves.")
    return redirect("vault:detail", result.credential.pk)
