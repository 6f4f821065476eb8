from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import SecurityEvent
from accounts.tests.conftest import Authenticator, password_login
from accounts.tests.factories import TOTPDeviceFactory, UserFactory
from trading.models import Bot
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    staff = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDeviceFactory(user=staff)
    password_login(client, staff)
    client.post("/account/2fa/verify/", {"code": Authenticator(device).code()})
    return client


def test_the_incident_switch_asks_first_and_pauses_nothing_until_confirmed(
    staff_client: Client,
) -> None:
    first, _second = BotFactory(), BotFactory()
    response = staff_client.post(
        "/admin/trading/bot/", {"action": "pause_exchange", "_selected_action": [first.pk]}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Yes, pause them all" in page
    assert "<strong>2</strong> running bot(s) of <strong>2</strong> user(s)" in page
    assert set(Bot.objects.values_list("status", flat=True)) == {"active"}


def test_the_incident_switch_pauses_every_bot_on_the_exchange_tells_owners_and_is_logged(
    staff_client: Client, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    first, second = BotFactory(), BotFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/trading/bot/",
            {"action": "pause_exchange", "_selected_action": [first.pk], "confirm": "yes"},
        )
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mailoutbox) == sorted([first.owner.email, second.owner.email])
    assert "paused" in mailoutbox[0].subject
    assert set(Bot.objects.values_list("status", flat=True)) == {"paused"}
    assert SecurityEvent.objects.filter(kind="bots_paused_by_staff").exists()
    second.refresh_from_db()
    assert "incident on paper" in second.status_reason


def test_staff_see_bots_orders_and_decisions(staff_client: Client) -> None:
    BotFactory(name="Visible bot")
    assert "Visible bot" in staff_client.get("/admin/trading/bot/?q=Visible").content.decode()
    for page in ("order", "decision", "fill", "activityincident"):
        assert staff_client.get(f"/admin/trading/{page}/").status_code == 200
