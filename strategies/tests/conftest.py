from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.tests.conftest import authenticator, totp_device, user, verified_client  # noqa: F401
from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.exchange import PaperExchange

# A fixed "now" 30 minutes into a 4-hour period: the candle opened at 08:00 is the
# newest closed one.
NOW = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def paper(clock: ManualClock) -> PaperExchange:
    """The paper exchange's public market data at a fixed time (no network)."""
    return PaperExchange(config=PaperConfig(clock=clock))


@pytest.fixture
def staff_client(client, db):
    """A staff member signed in with password and one-time code (the admin needs both)."""
    from accounts.tests.conftest import Authenticator, password_login
    from accounts.tests.factories import TOTPDeviceFactory, UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDeviceFactory(user=staff)
    password_login(client, staff)
    response = client.post("/account/2fa/verify/", {"code": Authenticator(device).code()})
    assert response.status_code == 302
    return client
