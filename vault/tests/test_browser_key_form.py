"""The key form in headless Chromium: fields follow the chosen exchange, its guide
is linked, and while the exchange checks the key the button is disabled and the
page says so."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.tests.test_browser_signup_flow import browser, page, page_problems  # noqa: F401
from testing.bitvavo_fake import FakeBitvavo
from testing.fake_fixtures import bitvavo_fake  # noqa: F401
from vault.models import ExchangeCredential

pytestmark = pytest.mark.browser


def signed_in(page: Page, client: Client, base_url: str) -> None:
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}]
    )


def test_the_key_form_shows_progress_while_the_exchange_checks_the_key(
    page: Page,
    page_problems: list[str],
    live_server,
    verified_client: Client,
    user,
    bitvavo_fake: FakeBitvavo,
    tmp_path,
) -> None:
    signed_in(page, verified_client, live_server.url)
    page.goto(f"{live_server.url}/keys/link/")
    exchange = page.get_by_label("Exchange")
    secret = page.get_by_label("Secret")
    confirm = page.get_by_label("This key cannot withdraw")

    exchange.select_option("onetrading")
    expect(secret).to_be_hidden()
    expect(confirm).to_be_visible()
    expect(page.locator("#exchange-guide-link")).to_have_attribute(
        "href", "/keys/guide/onetrading/"
    )

    exchange.select_option("bitvavo")
    expect(secret).to_be_visible()
    expect(confirm).to_be_hidden()
    expect(
        page.get_by_role("link", name="How to create a trade-only key on Bitvavo")
    ).to_be_visible()

    page.screenshot(path=tmp_path / "key_form.png", full_page=True)
    key = bitvavo_fake.add_key()
    page.get_by_label("Name").fill("Bitvavo main")
    page.get_by_label("API key").fill(key.api_key)
    secret.fill(key.secret)
    # While a navigation is pending Playwright cannot read the page, so the page
    # reports what it shows through the console as it changes.
    page.evaluate(
        """() => {
            const status = document.getElementById("key-check-status");
            const button = document.querySelector("#key-form button[type=submit]");
            new MutationObserver(() => {
                if (!status.hidden) {
                    console.log(`progress: ${status.textContent} | disabled: ${button.disabled}`);
                }
            }).observe(status, {attributes: true, childList: true, subtree: true});
        }"""
    )
    bitvavo_fake.hold = threading.Event()  # a slow exchange
    try:
        with page.expect_console_message(lambda m: m.text.startswith("progress:")) as message:
            page.get_by_role("button", name="Check and link").click(no_wait_after=True)
        assert message.value.text == "progress: Checking your key with Bitvavo… | disabled: true"
        assert bitvavo_fake.calls == []  # still waiting for the exchange
    finally:
        bitvavo_fake.hold.set()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bitvavo main")
    assert ExchangeCredential.objects.filter(owner=user, exchange_id="bitvavo").exists()
    page.goto(f"{live_server.url}/keys/guide/onetrading/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("One Trading")
    page.screenshot(path=tmp_path / "guide_onetrading.png", full_page=True)
    assert page_problems == []
