from allauth.account import views as allauth_views
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from accounts import views as account_views
from accounts.stepup import require_fresh_confirmation
from accounts.webhooks import telegram_webhook
from trading import views as trading_views


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Pages without the icon link (admin, error pages) make browsers ask for this."""
    return HttpResponseRedirect(static("img/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("", account_views.landing, name="landing"),
    path("dashboard/", trading_views.dashboard, name="dashboard"),
    path("account/", include("accounts.urls")),
    # allauth's email and password pages, guarded by a fresh code (matched first).
    path(
        "account/email/",
        require_fresh_confirmation(allauth_views.email),
        name="account_email",
    ),
    path(
        "account/password/change/",
        require_fresh_confirmation(allauth_views.password_change, form_asks_password=True),
        name="account_change_password",
    ),
    path("account/", include("allauth.urls")),
    path("keys/", include("vault.urls")),
    path("bots/", include("trading.urls")),
    path("strategies/", include("strategies.urls")),
    path("telegram/webhook/", telegram_webhook, name="telegram_webhook"),
    path("admin/", admin.site.urls),
]
