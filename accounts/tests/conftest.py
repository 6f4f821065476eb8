from __future__ import annotations

import time

import pytest
from django.test import Client

from accounts.models import TOTPDevice, User
from accounts.tests.factories import PASSWORD, TOTPDeviceFactory, UserFactory
from accounts.totp import totp_code


class Authenticator:
    """An authenticator app in a test: gives the code of a chosen time step."""

    def __init__(self, device: TOTPDevice) -> None:
        self.device = device
        self.key = device.key
        self._offset = -1

    def code(self, *, offset_steps: int = 0) -> str:
        return totp_code(self.key, now=time.time() + 30 * offset_steps)

    def next_code(self) -> str:
        """A code not used yet: each call moves one time step on (within tolerance)."""
        self._offset += 1
        if self._offset > 1:
            raise AssertionError("only three distinct codes are valid at once")
        return self.code(offset_steps=self._offset)


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def totp_device(user: User) -> TOTPDevice:
    return TOTPDeviceFactory(user=user)


@pytest.fixture
def authenticator(totp_device: TOTPDevice) -> Authenticator:
    return Authenticator(totp_device)


def password_login(client: Client, user: User) -> None:
    response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]


def staff_login(client: Client, staff: User | None = None) -> User:
    """Sign ``client`` in as staff with a password and a one-time code."""
    staff = staff or UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDeviceFactory(user=staff)
    password_login(client, staff)
    response = client.post("/account/2fa/verify/", {"code": Authenticator(device).code()})
    assert response.status_code == 302
    return staff


def start_setup(client: Client) -> str:
    """Press "Show the QR code" on the enrolment page; the page that follows."""
    response = client.post("/account/2fa/setup/", {"action": "start"}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def verified_client(client: Client, user: User, authenticator: Authenticator) -> Client:
    """Signed in with password and a one-time code."""
    password_login(client, user)
    response = client.post("/account/2fa/verify/", {"code": authenticator.next_code()})
    assert response.status_code == 302
    return client
