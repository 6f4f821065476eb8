"""Sign-up, email verification, login, logout, password change and reset."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from accounts.models import SecurityEvent, User
from accounts.tests.conftest import Authenticator, password_login
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "Tr4ding-on-my-own-terms!"


def signup(client: Client, email: str, password: str = STRONG, password2: str | None = None):
    return client.post(
        "/account/signup/",
        {"email": email, "password1": password, "password2": password2 or password},
    )


def confirmation_link(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/account/confirm-email/[^\s]+/)", str(message.body))
    assert match, message.body
    return match.group(1)


def test_it_signs_up_and_sends_a_verification_email(client: Client) -> None:
    response = signup(client, "new@example.com")
    assert response.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()
    assert len(mail.outbox) == 1
    assert "confirm" in mail.outbox[0].subject.lower()
    assert SecurityEvent.objects.filter(kind="signup", user__email="new@example.com").exists()


def test_an_unverified_user_cannot_sign_in(client: Client) -> None:
    signup(client, "new@example.com")
    client.logout()
    response = client.post("/account/login/", {"login": "new@example.com", "password": STRONG})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/confirm-email")
    assert "_auth_user_id" not in client.session


def test_verifying_the_email_sends_the_ip_whitelist_email(
    client: Client, settings, django_capture_on_commit_callbacks
) -> None:
    settings.EGRESS_IPS = ["198.51.100.7", "198.51.100.8"]
    signup(client, "new@example.com")
    link = confirmation_link(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="new@example.com").verified
    whitelist = [m for m in mail.outbox if "IP addresses" in m.subject]
    assert len(whitelist) == 1
    assert "198.51.100.7" in whitelist[0].body and "198.51.100.8" in whitelist[0].body
    assert SecurityEvent.objects.filter(kind="email_confirmed").count() == 1


def test_a_taken_email_is_refused_without_a_second_account(client: Client) -> None:
    UserFactory(email="taken@example.com")
    response = signup(client, "Taken@Example.com")
    # allauth does not reveal that the address exists: it emails the owner instead.
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert response.status_code in (200, 302)


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("short1!", "too short"),
        ("password1234", "too common"),
        ("12345678901234", "entirely numeric"),
    ],
)
def test_a_weak_password_is_refused_with_a_clear_error(
    client: Client, password: str, error: str
) -> None:
    response = signup(client, "weak@example.com", password)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()


def test_mismatched_passwords_are_refused(client: Client) -> None:
    response = signup(client, "x@example.com", STRONG, STRONG + "x")
    assert response.status_code == 200
    assert not User.objects.filter(email="x@example.com").exists()


def test_it_logs_in_and_out_and_records_both(client: Client, user: User) -> None:
    password_login(client, user)
    assert client.get("/dashboard/").status_code == 200
    client.post("/account/logout/")
    assert client.get("/dashboard/").status_code == 302
    kinds = list(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert "login" in kinds and "logout" in kinds


def test_a_wrong_password_is_refused_and_recorded(client: Client, user: User) -> None:
    response = client.post("/account/login/", {"login": user.email, "password": "wrong-one"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    event = SecurityEvent.objects.get(kind="login_failed")
    assert event.user == user
    assert "wrong-one" not in str(event.detail)


def test_failed_logins_are_throttled(client: Client, user: User) -> None:
    for _ in range(5):
        client.post("/account/login/", {"login": user.email, "password": "wrong-one"})
    response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 429 or "Too many" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signups_are_throttled(client: Client, settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/h/ip"}
    for n in range(2):
        signup(client, f"s{n}@example.com")
        client.logout()
    response = signup(client, "s3@example.com")
    assert response.status_code == 429
    assert not User.objects.filter(email="s3@example.com").exists()


def test_it_changes_the_password(client: Client, user: User) -> None:
    password_login(client, user)
    response = client.post(
        "/account/password/change/",
        {"oldpassword": PASSWORD, "password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert SecurityEvent.objects.filter(user=user, kind="password_changed").exists()


def test_password_change_needs_the_old_password(client: Client, user: User) -> None:
    password_login(client, user)
    response = client.post(
        "/account/password/change/",
        {"oldpassword": "not-it", "password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def reset_password(client: Client, user: User, new_password: str) -> None:
    client.post("/account/password/reset/", {"email": user.email})
    body = str(mail.outbox[-1].body)
    found = re.search(r"https?://[^/\s]+(/account/password/reset/key/[^\s]+/)", body)
    assert found, body
    link = found.group(1)
    response = client.get(link)
    assert response.status_code == 302  # allauth moves the key into the session
    response = client.post(
        response["Location"], {"password1": new_password, "password2": new_password}
    )
    assert response.status_code == 302


def test_a_password_reset_sets_a_new_password(client: Client, user: User) -> None:
    reset_password(client, user, STRONG)
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert SecurityEvent.objects.filter(user=user, kind="password_reset").exists()


def test_a_password_reset_never_bypasses_the_one_time_code(
    client: Client, user: User, authenticator: Authenticator
) -> None:
    reset_password(client, user, STRONG)
    response = client.post("/account/login/", {"login": user.email, "password": STRONG})
    assert response.status_code == 302
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/2fa/verify/")


def test_the_landing_page_is_public_and_the_dashboard_is_not(client: Client) -> None:
    assert client.get("/").status_code == 200
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")
