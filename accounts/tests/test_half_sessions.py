"""A session that knew only the password while two-factor was on stays half a login:
turning two-factor off elsewhere does not make it a signed-in one."""

from __future__ import annotations

from django.test import Client

from accounts.models import User
from accounts.tests.conftest import Authenticator, password_login


def test_turning_two_factor_off_ends_a_session_that_never_entered_a_code(
    verified_client: Client, user: User, authenticator: Authenticator
) -> None:
    # Someone with the password only: stopped at the code page.
    stranger = Client()
    password_login(stranger, user)
    assert stranger.get("/dashboard/")["Location"].startswith("/account/2fa/verify/")
    # The owner turns two-factor off (to set a new phone up, say).
    response = verified_client.post(
        "/account/2fa/disable/", {"code": authenticator.next_code(), "confirm": "on"}
    )
    assert response.status_code == 302
    # The half session is signed out, not promoted to a full one.
    response = stranger.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/"), response["Location"]
    assert "_auth_user_id" not in stranger.session
    # The owner's own session, which entered a code, goes on.
    assert verified_client.get("/dashboard/").status_code == 200
