from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_send_the_security_headers(client: Client) -> None:
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "form-action 'self'",
    ]:
        assert directive in csp


def test_forms_are_csrf_protected(db: None) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/account/login/", {"login": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert "You cannot do that here" in response.content.decode()  # our page, not Django's


def test_an_unknown_page_is_a_plain_404(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Traceback" not in response.content.decode()


def test_session_cookies_are_http_only(client: Client, settings) -> None:
    from accounts.tests.factories import PASSWORD, UserFactory

    user = UserFactory()
    response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.cookies[settings.SESSION_COOKIE_NAME]["httponly"]


def test_the_site_has_an_icon_and_browsers_asking_for_favicon_ico_get_it(
    client: Client, db: None
) -> None:
    """Every page logged a 404 for /favicon.ico in the browser's console (new-user walk)."""
    page = client.get("/").content.decode()
    assert 'rel="icon"' in page and "img/favicon.svg" in page
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith(".svg")
