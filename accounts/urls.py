from django.urls import path

from accounts import views
from accounts.timezones import time_zone_view

app_name = "accounts"

urlpatterns = [
    path("security/", views.security_events, name="security_events"),
    path("ip-whitelist/", views.ip_whitelist, name="ip_whitelist"),
    path("2fa/", views.twofa_overview, name="twofa_overview"),
    path("2fa/setup/", views.twofa_setup, name="twofa_setup"),
    path("2fa/disable/", views.twofa_disable, name="twofa_disable"),
    path("2fa/backup-codes/", views.backup_codes_new, name="backup_codes_new"),
    path("2fa/verify/", views.otp_login, name="otp_login"),
    path("2fa/confirm/", views.stepup, name="stepup"),
    path("notifications/", views.notifications, name="notifications"),
    path("time-zone/", time_zone_view, name="time_zone"),
]
