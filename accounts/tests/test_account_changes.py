"""Email addresses and the password change only with a fresh code, and are logged."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from accounts.models import SecurityEvent, User
from accounts.stepup import STEPUP_SESSION_KEY
from accounts.tests.conftest import password_login
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
STRONG = "Another-long-passphrase-77"


def make_stale(client: Client) -> None:
    session = client.session
    del session[STEPUP_SESSION_KEY]
    session.save()


@pytest.fixture
def second_address(user: User) -> EmailAddress:
    return EmailAddress.objects.create(user=user, email="second@example.com", verified=True)


def events(user: User, kind: str) -> list[dict]:
    return [e.detail for e in SecurityEvent.objects.filter(user=user, kind=kind)]


@pytest.mark.parametrize(
    "data",
    [
        {"action_add": "", "email": "attacker@example.com"},
        {"action_remove": "", "email": "second@example.com"},
        {"action_primary": "", "email": "second@example.com"},
    ],
)
def test_email_changes_need_a_fresh_code(
    verified_client: Client, user: User, second_address: EmailAddress, data: dict
) -> None:
    # Test fails on main before this change: a session whose code was entered
    # hours ago (or a stolen one) changed the addresses at once.
    make_stale(verified_client)
    response = verified_client.post("/account/email/", data)
    assert response.status_code == 302 and "/account/2fa/confirm/" in response["Location"]
    assert set(EmailAddress.objects.filter(user=user).values_list("email", "primary")) == {
        (user.email, True),
        ("second@example.com", False),
    }
    page = verified_client.get("/account/email/")
    assert page.status_code == 302 and "/account/2fa/confirm/" in page["Location"]


def test_adding_an_address_with_a_fresh_code_is_logged(verified_client: Client, user: User) -> None:
    response = verified_client.post(
        "/account/email/", {"action_add": "", "email": "new@example.com"}
    )
    assert response.status_code == 302
    assert EmailAddress.objects.filter(user=user, email="new@example.com").exists()
    assert events(user, "email_added") == [{"email": "new@example.com"}]


def test_removing_an_address_is_logged(
    verified_client: Client, user: User, second_address: EmailAddress
) -> None:
    verified_client.post("/account/email/", {"action_remove": "", "email": "second@example.com"})
    assert not EmailAddress.objects.filter(pk=second_address.pk).exists()
    assert events(user, "email_removed") == [{"email": "second@example.com"}]


def test_making_an_address_primary_is_logged(
    verified_client: Client, user: User, second_address: EmailAddress
) -> None:
    verified_client.post("/account/email/", {"action_primary": "", "email": "second@example.com"})
    assert EmailAddress.objects.get(pk=second_address.pk).primary
    assert events(user, "email_primary_changed") == [
        {"old": user.email, "new": "second@example.com"}
    ]
    page = verified_client.get("/account/security/").content.decode()
    assert "Primary email address changed" in page


def test_a_password_change_needs_a_fresh_code(verified_client: Client, user: User) -> None:
    # Test fails on main before this change: the old password alone was enough.
    make_stale(verified_client)
    data = {"oldpassword": PASSWORD, "password1": STRONG, "password2": STRONG}
    response = verified_client.post("/account/password/change/", data)
    assert response.status_code == 302 and "/account/2fa/confirm/" in response["Location"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not events(user, "password_changed")


def test_a_password_change_with_a_fresh_code_is_logged(verified_client: Client, user: User) -> None:
    data = {"oldpassword": PASSWORD, "password1": STRONG, "password2": STRONG}
    assert verified_client.post("/account/password/change/", data).status_code == 302
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert len(events(user, "password_changed")) == 1


def test_without_two_factor_an_email_change_asks_for_the_password_again(
    client: Client, user: User
) -> None:
    password_login(client, user)
    response = client.post("/account/email/", {"action_add": "", "email": "x@example.com"})
    assert response.status_code == 302 and "/account/reauthenticate/" in response["Location"]
    assert not EmailAddress.objects.filter(email="x@example.com").exists()
    assert client.get("/account/email/").status_code == 200  # looking is fine
    response = client.post(response["Location"], {"password": PASSWORD}, follow=True)
    assert EmailAddress.objects.filter(email="x@example.com").exists()
    assert events(user, "email_added") == [{"email": "x@example.com"}]


def test_the_old_address_is_told_when_the_primary_address_changes(
    verified_client: Client, user: User, second_address: EmailAddress
) -> None:
    old = user.email
    verified_client.post("/account/email/", {"action_primary": "", "email": "second@example.com"})
    notice = [m for m in mail.outbox if m.to == [old]]
    assert len(notice) == 1
    assert "second@example.com" in notice[0].body
    assert "IP address" in notice[0].body


def test_a_password_change_is_mailed(verified_client: Client, user: User) -> None:
    data = {"oldpassword": PASSWORD, "password1": STRONG, "password2": STRONG}
    verified_client.post("/account/password/change/", data)
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert STRONG not in mail.outbox[0].body and PASSWORD not in mail.outbox[0].body


def test_the_security_log_stacks_on_phones_and_does_not_claim_utc_in_another_zone(
    verified_client: Client, user: User
) -> None:
    user.time_zone = "Europe/Paris"
    user.save(update_fields=["time_zone"])
    page = verified_client.get("/account/security/").content.decode()
    assert '<table class="table stack">' in page
    assert 'data-label="Device"' in page
    # The times are in the viewer's zone and say so; the header said "(UTC)" regardless.
    assert "When (UTC)" not in page
