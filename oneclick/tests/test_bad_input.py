"""Odd input gets a plain 4xx: NUL characters, filters on encrypted columns."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import SecurityEvent
from accounts.tests.conftest import staff_login
from accounts.tests.factories import UserFactory
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    staff_login(client)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/vault/exchangecredential/?secret__regex=^gAAAA",
        "/admin/vault/exchangecredential/?secret__startswith=gAAAA",
        "/admin/vault/exchangecredential/?api_key__isnull=False",
        "/admin/vault/exchangecredential/?secret__gt=a",
        "/admin/vault/exchangecredential/?secret=gAAAA",
        "/admin/accounts/user/?totpdevice__key__regex=^gAAAA",
        "/admin/accounts/user/?credentials__secret__contains=A",
    ],
)
def test_the_admin_refuses_filters_on_encrypted_columns(staff_client: Client, url: str) -> None:
    # Test fails on main before this change: ?secret__regex=^gAAAA narrowed rows by ciphertext.
    CredentialFactory()
    response = staff_client.get(url)
    assert response.status_code == 400
    assert "Encrypted fields cannot be filtered on" in response.content.decode()


def test_ordinary_admin_filters_still_work(staff_client: Client) -> None:
    CredentialFactory(label="mine")
    response = staff_client.get("/admin/vault/exchangecredential/?status__exact=active")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/securityevent/?kind__exact=%00",
        "/admin/accounts/securityevent/?q=a%00b",
        "/admin/accounts/securityevent/?%00=1",
        "/strategies/trend%00/",
    ],
)
def test_a_nul_character_in_the_url_is_a_plain_400(staff_client: Client, url: str) -> None:
    # Test fails on main before this change: PostgreSQL refused the string (500).
    response = staff_client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_character_in_a_form_is_refused_before_anything_is_stored(client: Client) -> None:
    response = client.post(
        "/account/signup/",
        {"email": "nul\x00@example.com", "password1": "x" * 20, "password2": "x" * 20},
    )
    assert response.status_code == 400
    assert not SecurityEvent.objects.exists()


def test_a_nul_character_in_a_cookie_or_header_is_refused(client: Client) -> None:
    user = UserFactory()
    client.cookies[settings.SESSION_COOKIE_NAME] = "abc\x00def"
    assert client.get("/account/login/").status_code == 400
    fresh = Client(headers={"user-agent": "evil\x00agent"})
    response = fresh.post("/account/login/", {"login": user.email, "password": "wrong"})
    assert response.status_code == 400
    assert not SecurityEvent.objects.exists()


def test_a_nul_escape_in_a_json_body_is_refused(client: Client) -> None:
    response = client.post(
        "/telegram/webhook/", '{"a": "\\u0000"}', content_type="application/json"
    )
    assert response.status_code == 400


def test_a_next_that_is_not_a_path_falls_back_to_the_dashboard(
    client: Client,
) -> None:
    # Test fails on main before this change: redirect("-1") took it for a URL name (500).
    staff_login(client)
    response = client.get("/account/2fa/verify/?next=-1")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_an_overflowing_date_in_the_admin_drill_down_is_a_400(staff_client: Client) -> None:
    # Test fails on main before this change: datetime() raised OverflowError (500).
    response = staff_client.get("/admin/accounts/securityevent/?created_at__year=" + "9" * 40)
    assert response.status_code == 400
    assert (
        staff_client.get("/admin/accounts/securityevent/?created_at__year=2025").status_code == 200
    )


def test_a_url_over_8_kb_is_refused_before_any_view(client: Client) -> None:
    response = client.get("/dashboard/?next=" + "x" * 9000)
    assert response.status_code == 414


def test_deeply_nested_json_to_the_webhook_is_a_400(client: Client, settings) -> None:
    # Test fails on main before this change: json.loads raised RecursionError (500).
    settings.TELEGRAM_WEBHOOK_SECRET = "s"
    response = client.post(
        "/telegram/webhook/",
        "[" * 5000,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": "s"},
    )
    assert response.status_code == 400


def test_an_admin_form_refuses_an_id_beyond_the_column_range(staff_client: Client) -> None:
    # Test fails on main before this change: the lookup overflowed (500 on SQLite).
    response = staff_client.post("/admin/auth/group/add/", {"name": "ops", "permissions": "9" * 40})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_an_admin_json_field_refuses_too_deep_nesting(staff_client: Client) -> None:
    # Test fails on main before this change: json.loads raised RecursionError (500).
    from strategies.tests.factories import StrategyFactory

    strategy = StrategyFactory()
    response = staff_client.post(
        f"/admin/strategies/strategy/{strategy.pk}/change/", {"markets": "[" * 5000}
    )
    assert response.status_code == 200
    assert "Enter a valid JSON." in response.content.decode()


def test_a_body_over_the_upload_limit_is_a_plain_400_without_a_traceback(
    client: Client, caplog
) -> None:
    response = client.post(
        "/telegram/webhook/", "x" * (3 * 1024 * 1024), content_type="application/json"
    )
    assert response.status_code == 400
    assert not [r for r in caplog.records if r.exc_info]


def test_a_refused_request_gets_the_sites_own_400_page(client: Client) -> None:
    # Fails before: a plain-text line with none of the site around it (new-user walk).
    client.cookies["sessionid"] = "abc\x00def"  # nothing of the request is looked up
    response = client.get("/history/?side=%00")
    page = response.content.decode()
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "This request could not be read" in page and "NUL character" in page
    assert "Nothing was changed." in page
