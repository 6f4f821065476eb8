"""Labels, contrast and keyboard use (issue 10 item 7), checked in a real browser.

axe-core (vendored test-only under ``vendor/axe-core``) runs its WCAG 2 A/AA rules on
the main pages, signed in with data and signed out, at desktop and phone width; a
"serious" or "critical" finding fails the test. The keyboard test walks the
dashboard and the new-bot form with the Tab key only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page

from accounts.tests.conftest import (  # noqa: F401 - the fixtures
    authenticator,
    totp_device,
    user,
    verified_client,
)
from accounts.tests.test_browser_signup_flow import browser  # noqa: F401 - the fixture
from trading.models import Bot
from trading.tests.page_data import seed_account, seed_backtest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Screenshots of every checked page, to compare before and after a fix (gitignored).
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "accessibility"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
ZONE = "Europe/Berlin"
# Minor and moderate findings are advice; these two block or mislead someone.
BLOCKING = {"serious", "critical"}
# WCAG 2.0-2.2 levels A and AA, plus axe's best practices (landmarks, heading order).
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


@pytest.fixture(autouse=True)
def _in_memory_channel_layer(settings) -> None:
    # Seeding and page loads may push live updates: keep them in this process.
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()


@pytest.fixture
def new_page(browser: Browser, live_server: Any) -> Iterator[Any]:
    """Opens pages at a size, signed in with `session` or not; closes them all at the end.

    Closing in teardown (before pytest-django restores the settings) keeps a failed
    test's page from fetching anything from the live server afterwards.
    """
    contexts: list[BrowserContext] = []

    def open_page(
        width: int, height: int, session: str | None, *, bypass_csp: bool = False
    ) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height}, timezone_id=ZONE, bypass_csp=bypass_csp
        )
        contexts.append(context)
        # The zone cookie app.js would set: without it the first page reloads itself once.
        cookies: list[Any] = [
            {"name": "tz", "value": ZONE.replace("/", "%2F"), "url": live_server.url}
        ]
        if session:
            cookies.append({"name": "sessionid", "value": session, "url": live_server.url})
        context.add_cookies(cookies)
        context.set_default_timeout(10_000)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def _axe_findings(page: Page, name: str) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        RULE_TAGS,
    )
    return [
        f"{name}: {v['id']} ({v['impact']}) {v['help']}: "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:8])
        + (f" … and {len(v['nodes']) - 8} more" if len(v["nodes"]) > 8 else "")
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def _signed_in_pages(user: Any) -> dict[str, str]:
    bots = seed_account(user)
    strategy = bots[0].strategy
    backtest = seed_backtest(strategy, [(10, "buy"), (40, "sell"), (75, "buy"), (120, "sell")])
    return {
        "dashboard": "/dashboard/",
        "bot": f"/bots/{bots[0].pk}/",
        "bots": "/bots/",
        "history": "/bots/history/",
        "history-orders": "/bots/history/?kind=orders",
        "keys": "/keys/",
        "key": f"/keys/{bots[0].credential.pk}/",
        "bot-new": "/bots/new/",
        "strategies": "/strategies/",
        "strategy": f"/strategies/{strategy.slug}/",
        "backtest": f"/strategies/backtests/{backtest.pk}/",
        "two-factor": "/account/2fa/",
        "security-log": "/account/security/",
        "time-zone": "/account/time-zone/",
        "notifications": "/account/notifications/",
    }


PUBLIC_PAGES = {
    "landing": "/",
    "sign-in": "/account/login/",
    "sign-up": "/account/signup/",
    "not-found": "/no-such-page/",
}


def test_the_main_pages_have_no_serious_accessibility_violations(
    new_page: Any, live_server, verified_client: Client, user
) -> None:
    sessions = {
        "signed in": (verified_client.cookies["sessionid"].value, _signed_in_pages(user)),
        "public": (None, PUBLIC_PAGES),
    }
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    findings: list[str] = []
    for (who, (session, pages)), (size, (width, height)) in product(
        sessions.items(), SIZES.items()
    ):
        # add_script_tag inlines axe, which the site's CSP (rightly) refuses.
        page = new_page(width, height, session, bypass_csp=True)
        for short, path in pages.items():
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            findings += _axe_findings(page, f"{short} ({who}, {size})")
            page.screenshot(path=ARTEFACTS / f"{short}-{size}.png", full_page=True)
        page.context.close()
    assert findings == [], "\n".join(findings)


@pytest.fixture
def phone_dashboard(new_page: Any, live_server, verified_client: Client, user) -> Page:
    seed_account(user, bots=2, days=3)
    page: Page = new_page(390, 844, verified_client.cookies["sessionid"].value)
    page.goto(live_server.url + "/dashboard/")
    page.wait_for_load_state("networkidle")
    return page


def _focused(page: Page) -> dict[str, Any]:
    """What has the focus, and whether anything shows it."""
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            const s = getComputedStyle(e);
            // A visually hidden checkbox shows its focus on its label instead.
            const label = e.id ? document.querySelector(`label[for="${e.id}"]`) : null;
            const shown = (st) => (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0)
                || st.boxShadow !== 'none';
            return {
                tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name') || '',
                type: e.getAttribute('type') || '',
                text: (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40),
                href: e.getAttribute('href') || '',
                visible: shown(s) || (label !== null && shown(getComputedStyle(label))),
            };
        }"""
    )


def _tab_until(page: Page, wanted: Any, limit: int = 60, key: str = "Tab") -> list[dict[str, Any]]:
    """Press Tab until `wanted(focused)` holds; returns every element focused on the way."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press(key)
        seen.append(_focused(page))
        if wanted(seen[-1]):
            return seen
    raise AssertionError(f"never reached; focused on the way: {[s['text'] for s in seen]}")


def _invisible(seen: list[dict[str, Any]]) -> list[str]:
    # Past the last element the focus leaves the page (the body has it): nothing to show.
    return [
        f"{s['tag']}#{s['id']} {s['text']!r}"
        for s in seen
        if not s["visible"] and s["tag"] != "body"
    ]


def test_the_keyboard_reaches_the_nav_links_with_a_visible_focus(
    new_page: Any, live_server, verified_client: Client, user
) -> None:
    seed_account(user, bots=2, days=3)
    page = new_page(1280, 800, verified_client.cookies["sessionid"].value)
    page.goto(live_server.url + "/dashboard/")
    page.wait_for_load_state("networkidle")
    seen = _tab_until(page, lambda f: f["href"] == "/strategies/")
    assert seen[0]["text"] == "Skip to the content"
    assert {"/dashboard/", "/keys/", "/bots/", "/bots/history/"} <= {s["href"] for s in seen}
    # On through the rest of the page: everything focused shows it.
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(_focused(page))
    assert _invisible(seen) == []


def test_the_phone_menu_opens_and_closes_with_the_keyboard(phone_dashboard: Page) -> None:
    page = phone_dashboard
    links = page.locator(".nav-links")
    assert not links.is_visible()
    seen = _tab_until(page, lambda f: f["id"] == "nav-toggle")
    page.keyboard.press("Space")
    assert links.is_visible()
    seen += _tab_until(page, lambda f: f["href"] == "/bots/")
    seen += _tab_until(page, lambda f: f["id"] == "nav-toggle", key="Shift+Tab")
    assert _invisible(seen) == []
    page.keyboard.press("Space")
    assert not links.is_visible()


def test_the_new_bot_form_works_with_the_keyboard_only(
    new_page: Any, live_server, verified_client: Client, user
) -> None:
    seed_account(user, bots=1, days=3)  # a paper key and the "Trend follower" strategy
    page = new_page(1280, 800, verified_client.cookies["sessionid"].value)
    page.goto(live_server.url + "/bots/new/")
    page.wait_for_load_state("networkidle")
    seen = _tab_until(page, lambda f: f["id"] == "id_name")
    page.keyboard.type("Keyboard bot")
    # Key, strategy and quote currency keep their first choices; the first market box.
    seen += _tab_until(page, lambda f: f["name"] == "markets")
    page.keyboard.press("Space")
    seen += _tab_until(page, lambda f: f["id"] == "id_allocation")
    page.keyboard.type("1000")
    seen += _tab_until(page, lambda f: f["tag"] == "button" and f["text"] == "Start the bot")
    assert _invisible(seen) == []
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/bots/[0-9a-f-]{36}/$"))
    bot = Bot.objects.get(owner=user, name="Keyboard bot")
    assert len(bot.markets) == 1
