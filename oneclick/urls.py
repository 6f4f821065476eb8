from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from accounts.webhooks import telegram_webhook
from trading import views as trading_views

urlpatterns = [
    path("", account_views.landing, name="landing"),
    path("dashboard/", trading_views.dashboard, name="dashboard"),
    path("account/", include("accounts.urls")),
    path("account/", include("allauth.urls")),
    path("keys/", include("vault.urls")),
    path("bots/", include("trading.urls")),
    path("strategies/", include("strategies.urls")),
    path("telegram/webhook/", telegram_webhook, name="telegram_webhook"),
    path("admin/", admin.site.urls),
]
