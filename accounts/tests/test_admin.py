from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import SecurityEvent, TOTPDevice, User
from accounts.tests.conftest import password_login, staff_login
from accounts.tests.factories import TOTPDeviceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client: Client, staff: User) -> Client:
    staff_login(client, staff)
    return client


def test_staff_without_a_one_time_code_do_not_reach_the_admin(client: Client, staff: User) -> None:
    password_login(client, staff)  # no 2FA enrolled: password only
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/account/2fa/"
    assert "The admin needs two-factor authentication." in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_one_login(client: Client) -> None:
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/account/login/?next=/admin/")


def test_non_staff_do_not_reach_the_admin(verified_client: Client) -> None:
    assert verified_client.get("/admin/").status_code == 302


def test_staff_see_all_security_events(staff_client: Client) -> None:
    other = UserFactory()
    SecurityEvent.objects.create(user=other, kind="login", ip="198.51.100.77")
    page = staff_client.get("/admin/accounts/securityevent/").content.decode()
    assert "198.51.100.77" in page


def test_security_events_cannot_be_edited_or_deleted_in_the_admin(staff_client: Client) -> None:
    event = SecurityEvent.objects.create(user=UserFactory(), kind="login")
    url = f"/admin/accounts/securityevent/{event.pk}/"
    page = staff_client.get(f"{url}change/").content.decode()
    assert 'name="_save"' not in page
    assert staff_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    response = staff_client.post(
        "/admin/accounts/securityevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert SecurityEvent.objects.filter(pk=event.pk).exists()
    assert response.status_code in (200, 302)


def test_the_admin_never_shows_an_authenticator_secret(staff_client: Client) -> None:
    device = TOTPDeviceFactory()
    for url in [
        "/admin/accounts/totpdevice/",
        f"/admin/accounts/totpdevice/{device.pk}/change/",
        f"/admin/accounts/user/{device.user.pk}/change/",
    ]:
        page = staff_client.get(url).content.decode()
        assert device.key not in page, url
        stored = TOTPDevice.objects.filter(pk=device.pk).values_list("key", flat=True).get()
        assert stored not in page, url


def test_staff_search_users_by_email(staff_client: Client) -> None:
    UserFactory(email="findme@example.com")
    page = staff_client.get("/admin/accounts/user/?q=findme").content.decode()
    assert "findme@example.com" in page
