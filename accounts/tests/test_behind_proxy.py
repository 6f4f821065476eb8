"""Behind the TLS proxy of production, the client is read from X-Forwarded-For."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import Client

from accounts.models import SecurityEvent, User
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.7"


def via_proxy(forwarded_for: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def signup(client: Client, email: str):
    password = "Tr4ding-on-my-own-terms!"
    return client.post(
        "/account/signup/", {"email": email, "password1": password, "password2": password}
    )


def test_behind_the_proxy_one_proxy_is_trusted_by_default() -> None:
    """Without it every request counted as the proxy's: 11 wrong passwords a minute from
    anyone locked the whole site out of signing in (found by probe4a)."""
    env = {**os.environ, "BEHIND_TLS_PROXY": "true"}
    env.pop("TRUSTED_PROXY_COUNT", None)
    code = "from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={"DJANGO_SETTINGS_MODULE": "oneclick.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "1"


def test_one_clients_signups_do_not_use_up_another_clients_limit(settings) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/h/ip"}
    for n in range(2):
        signup(via_proxy("198.51.100.1"), f"a{n}@example.com")
    assert signup(via_proxy("198.51.100.1"), "a3@example.com").status_code == 429
    # A forged entry on the left is not read: the proxy appended the real address.
    assert signup(via_proxy("198.51.100.2"), "b1@example.com").status_code == 302
    forged = signup(via_proxy("198.51.100.2, 198.51.100.1"), "a4@example.com")
    assert forged.status_code == 429
    assert not User.objects.filter(email__in=["a3@example.com", "a4@example.com"]).exists()


def test_the_security_log_records_the_client_not_the_proxy(settings, user: User) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    via_proxy("203.0.113.9, 198.51.100.8").post(
        "/account/login/", {"login": user.email, "password": PASSWORD}
    )
    event = SecurityEvent.objects.filter(user=user).latest("pk")
    assert event.ip == "198.51.100.8"


def test_without_a_proxy_the_peer_address_is_the_client(user: User) -> None:
    Client(REMOTE_ADDR="192.0.2.44", HTTP_X_FORWARDED_FOR="198.51.100.8").post(
        "/account/login/", {"login": user.email, "password": PASSWORD}
    )
    assert SecurityEvent.objects.filter(user=user).latest("pk").ip == "192.0.2.44"
