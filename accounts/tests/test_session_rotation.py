"""The session id changes at every privilege step, so a leaked lesser one is worthless."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from accounts.tests.conftest import Authenticator, password_login, start_setup
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def session_id(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def client_with_session(key: str) -> Client:
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = key
    return other


def test_a_password_login_gets_a_new_session_id(client: Client, user: User) -> None:
    client.get("/account/login/")
    client.cookies[settings.SESSION_COOKIE_NAME] = "attacker-planted-session-id"
    password_login(client, user)
    assert session_id(client) != "attacker-planted-session-id"


def test_a_session_id_from_before_the_code_is_worthless_after_it(
    client: Client, user: User, authenticator: Authenticator
) -> None:
    password_login(client, user)
    leaked = session_id(client)

    response = client.post("/account/2fa/verify/", {"code": authenticator.next_code()})

    assert response.status_code == 302
    assert session_id(client) != leaked
    assert client.get("/dashboard/").status_code == 200
    stolen = client_with_session(leaked).get("/dashboard/")
    assert stolen.status_code == 302
    assert "/account/login/" in stolen["Location"]


def test_a_step_up_gets_a_new_session_id(
    verified_client: Client, authenticator: Authenticator
) -> None:
    before = session_id(verified_client)
    response = verified_client.post(
        "/account/2fa/confirm/", {"code": authenticator.next_code(), "next": "/dashboard/"}
    )
    assert response.status_code == 302
    assert session_id(verified_client) != before
    assert client_with_session(before).get("/dashboard/").status_code == 302


def test_turning_on_two_factor_gets_a_new_session_id(client: Client) -> None:
    from accounts.models import TOTPDevice
    from accounts.totp import totp_code

    user = UserFactory()
    password_login(client, user)
    before = session_id(client)
    start_setup(client)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/account/2fa/setup/", {"code": totp_code(device.key)})
    assert response.status_code == 200
    assert TOTPDevice.objects.get(user=user).confirmed
    assert session_id(client) != before
    assert client_with_session(before).get("/dashboard/").status_code == 302
