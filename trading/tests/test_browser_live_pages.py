"""A bot page in headless Chromium, served by daphne, updated by a worker process.

The page is open; a separate ``manage.py shell`` process executes a signal for the
bot (as a task worker would); the new order must appear in the page without a
reload within 2 s. Then signing out in another tab closes the page's socket.
Runs on whichever setup the suite runs on: channels-lite or Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, expect

from accounts.tests.test_browser_signup_flow import browser  # noqa: F401  (fixture)
from strategies.tests.factories import SignalFactory
from trading.tests.factories import BotFactory
from trading.tests.live_server import (  # noqa: F401  (fixtures)
    in_memory_channel_layer,
    run_in_worker,
    server_url,
)
from vault.tests.factories import CredentialFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(django_settings.BASE_DIR) / "test-artefacts" / "live"


@pytest.fixture(autouse=True)
def _no_login_throttle_left_over() -> None:
    cache.clear()


@pytest.fixture
def signed_in(
    browser: Browser, server_url: str, verified_client: Client
) -> Iterator[BrowserContext]:
    """A browser context carrying the session of a user signed in with password and code."""
    name = django_settings.SESSION_COOKIE_NAME
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    context.add_cookies(
        [{"name": name, "value": verified_client.cookies[name].value, "url": server_url}]
    )
    yield context
    context.close()


def test_a_fill_from_a_worker_appears_without_reload_and_signing_out_elsewhere_closes_the_socket(
    signed_in: BrowserContext, server_url: str, user
) -> None:
    bot = BotFactory(owner=user)
    signal = SignalFactory(strategy=bot.strategy, fraction=Decimal("0.5"))
    page = signed_in.new_page()
    page.goto(f"{server_url}/bots/{bot.pk}/")
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    expect(page.locator("#live-region")).to_contain_text("No orders yet.")
    page.evaluate("window.__notReloaded = true")

    output = run_in_worker(
        "import time; from trading.execution import execute\n"
        f"print(execute({str(bot.pk)!r}, {str(signal.pk)!r}).outcome, time.time())\n"
    )
    outcome, done_at = output.split()[-2:]
    assert outcome == "executed"
    order = page.locator("#live-region a[href^='/bots/orders/']")
    # The worker process takes a moment to exit after committing: the deadline is
    # measured from its commit to the page's refresh (live.js stamps it), not here.
    expect(order).to_contain_text("Buy", timeout=5_000)
    refreshed_at = int(page.locator("html").get_attribute("data-live-refreshed") or 0) / 1000
    assert refreshed_at - float(done_at) <= 2
    assert page.evaluate("window.__notReloaded") is True  # updated in place
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTEFACTS / "bot-page-live-fill.png", full_page=True)

    other = signed_in.new_page()
    other.goto(f"{server_url}/dashboard/")
    other.locator("nav").get_by_role("button", name="Sign out").click()
    other.wait_for_url(f"{server_url}/")
    expect(page.locator("html")).to_have_attribute("data-live", "signed_out", timeout=5_000)


# The socket of a freshly loaded page opens a moment after the page was rendered;
# this holds it back until the test lets it go, so a fill lands in that gap.
HOLD_SOCKET = """
(() => {
  const Real = window.WebSocket;
  window.__release = null;
  window.WebSocket = function (url, protocols) {
    const holder = {};
    const open = () => {
      const socket = new Real(url, protocols);
      for (const name of ["onopen", "onmessage", "onclose", "onerror"]) {
        socket[name] = (event) => holder[name] && holder[name](event);
      }
    };
    if (window.__released) open(); else window.__release = () => { window.__released = true; open(); };
    return holder;
  };
})();
"""


def test_a_fill_between_rendering_and_the_socket_opening_still_appears(
    signed_in: BrowserContext, server_url: str, user
) -> None:
    bot = BotFactory(owner=user)
    signal = SignalFactory(strategy=bot.strategy, fraction=Decimal("0.5"))
    page = signed_in.new_page()
    page.add_init_script(HOLD_SOCKET)
    page.goto(f"{server_url}/bots/{bot.pk}/")
    expect(page.locator("#live-region")).to_contain_text("No orders yet.")

    output = run_in_worker(
        "from trading.execution import execute\n"
        f"print(execute({str(bot.pk)!r}, {str(signal.pk)!r}).outcome)\n"
    )
    assert output.split()[-1] == "executed"
    page.evaluate("window.__release()")

    expect(page.locator("html")).to_have_attribute("data-live", "open")
    expect(page.locator("#live-region a[href^='/bots/orders/']")).to_contain_text(
        "Buy", timeout=5_000
    )


def test_the_first_bot_appearing_live_on_the_dashboard_brings_its_charts(
    signed_in: BrowserContext, server_url: str, user
) -> None:
    # A key and no bot yet: the dashboard listens, but drew no chart when rendered.
    credential = CredentialFactory(owner=user)
    page = signed_in.new_page()
    page.add_init_script(HOLD_SOCKET)
    page.goto(f"{server_url}/dashboard/")
    expect(page.locator("#live-region")).to_contain_text("Your portfolio")
    create_step = page.get_by_role("link", name="Create a bot", exact=True)
    expect(create_step).to_be_visible()

    BotFactory(owner=user, credential=credential)
    page.evaluate("window.__release()")

    chart = page.locator("#live-region [data-chart=equity]")
    expect(chart).to_be_visible(timeout=5_000)
    # Before, the chart scripts were left out of a page rendered without bots, so
    # the refreshed region said "Loading chart…" until the user reloaded.
    expect(chart.locator("canvas").first).to_be_attached()
    expect(chart).not_to_contain_text("Loading chart")
    expect(page.locator("footer")).to_contain_text("TradingView")
    expect(create_step).to_have_count(0)  # the first-run checklist is live too
    # Before, outside the live regions: it came only with a reload.
    expect(page.get_by_role("link", name="Orders and fills", exact=True)).to_be_visible()
