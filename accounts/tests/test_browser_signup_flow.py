"""The whole road from sign-up to a two-factor login, in a real browser.

Headless Chromium (Debian's package; Playwright cannot download one here) drives
pytest-django's live server. The live server runs in a thread of this process,
so the emails it sends land in ``django.core.mail.outbox``.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright

from accounts.totp import totp_code

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Chromium asks for one on its own; the site has none.
EMAIL = "trader@example.com"
PASSWORD = "Tr4ding-on-my-own-terms!"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium")
    # Playwright's sync API keeps an event loop running in this thread between
    # calls, so Django takes the test's own database work (setting up and
    # flushing the test database) for ORM calls from async code. Nothing here
    # runs concurrently with it: the pages are served by the live server thread.
    with pytest.MonkeyPatch.context() as mp, sync_playwright() as playwright:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_problems(page: Page) -> list[str]:
    """Failed requests and console errors (a CSP violation is one) of the page."""
    problems: list[str] = []

    def on_response(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    return problems


def confirmation_path() -> str:
    """The path of the verification link in the one email sent so far."""
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    match = re.search(r"https?://\S+/account/confirm-email/\S+/", str(mail.outbox[0].body))
    assert match, mail.outbox[0].body
    return urlsplit(match.group(0)).path


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/account/login/")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()


def test_a_new_user_signs_up_turns_on_2fa_and_signs_in_with_a_code(
    page: Page, page_problems: list[str], live_server, tmp_path: Path
) -> None:
    base_url = live_server.url

    # Sign up: allauth sends the verification email and does not sign in yet.
    page.goto(f"{base_url}/account/signup/")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign Up", exact=True).click()
    page.wait_for_url(f"{base_url}/account/confirm-email/")

    # Confirm the address from the link in the email (a POST on the link's page).
    page.goto(base_url + confirmation_path())
    page.get_by_role("button", name="Confirm", exact=True).click()
    page.wait_for_url(f"{base_url}/account/login/")
    whitelist = [m for m in mail.outbox if "IP addresses" in m.subject]
    assert len(whitelist) == 1
    assert whitelist[0].to == [EMAIL]
    assert all(ip in whitelist[0].body for ip in settings.EGRESS_IPS)

    # Sign in with the password and turn on an authenticator app.
    sign_in(page, base_url)
    page.wait_for_url(f"{base_url}/dashboard/")
    page.get_by_role("link", name="Set up an authenticator app").click()
    page.wait_for_url(f"{base_url}/account/2fa/setup/")
    page.get_by_role("button", name="Show the QR code", exact=True).click()
    hex_key = base64.b32decode(page.locator("#totp-secret").inner_text().strip()).hex()
    page.fill("input[name=code]", totp_code(hex_key))
    page.get_by_role("button", name="Turn on", exact=True).click()
    expect(page.locator("#backup-codes li")).to_have_count(settings.BACKUP_CODE_COUNT)
    # Each code on one line, to copy or type as it is (they broke at a hyphen at 1280 px).
    lines = page.eval_on_selector_all(
        "#backup-codes code", "codes => codes.map(c => c.getClientRects().length)"
    )
    assert lines == [1] * settings.BACKUP_CODE_COUNT, lines
    # Buttons in the page's own type, not the browser's form-control font.
    fonts = page.evaluate(
        "[document.body, ...document.querySelectorAll('button')]"
        ".map(e => getComputedStyle(e).fontFamily)"
    )
    assert set(fonts) == {fonts[0]}, fonts

    # Sign out with the navigation's button (a POST form).
    page.locator("nav").get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base_url}/")
    expect(page.locator("nav").get_by_role("link", name="Sign in")).to_be_visible()

    # A password alone is half a login now: the code page asks for the next code
    # (the one used at enrolment cannot be used again).
    sign_in(page, base_url)
    page.wait_for_url(re.compile(re.escape(f"{base_url}/account/2fa/verify/")))
    # Its way out reads as a link, not as plain text under the button.
    expect(page.locator("main").get_by_role("button", name="Sign out")).to_have_css(
        "text-decoration-line", "underline"
    )
    page.fill("input[name=code]", totp_code(hex_key, now=time.time() + 30))
    page.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_url(f"{base_url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("link", name="Set up an authenticator app")).to_have_count(0)
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 0
    assert page_problems == []
