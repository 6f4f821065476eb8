"""Screenshots of the main pages at desktop and phone width, for people to look at.

Saved under ``test-artefacts/pages/`` (gitignored). The test also fails on any
failed request or console error (a CSP violation is one), on a page wider than
the phone's screen and on a table that scrolls sideways in its box (columns hidden).
"""

from __future__ import annotations

from decimal import Decimal
from itertools import product
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import Browser, FloatRect

from accounts.tests.factories import UserFactory
from accounts.tests.test_browser_signup_flow import browser  # noqa: F401 - the fixture
from trading.tests.page_data import hold, seed_account, seed_backtest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "pages"
# 360 px: the narrowest phones still sold (a table 2 px too wide scrolled there).
SIZES = {"desktop": (1280, 800), "phone": (390, 844), "narrow": (360, 740)}


def test_the_main_pages_look_right_at_desktop_and_phone_width(
    browser: Browser,
    live_server,
    verified_client: Client,
    user,
) -> None:
    bots = seed_account(user)
    # The bot page's positions table with two rows (a card each on phones).
    hold(bots[0], "BTC/USDT", Decimal("0.00734"), Decimal("58250.5"))
    hold(bots[0], "ETH/USDT", Decimal("0.0821"), Decimal("3012.75"))
    order = bots[0].orders.order_by("-created_at").first()
    assert order is not None
    strategy = bots[0].strategy
    trades = [(10, "buy"), (40, "sell"), (75, "buy"), (120, "sell"), (150, "buy")]
    backtest = seed_backtest(strategy, trades)
    pages = {
        "dashboard": "/dashboard/",
        "bot": f"/bots/{bots[0].pk}/",
        "bots": "/bots/",
        "history": "/bots/history/",
        "history-orders": "/bots/history/?kind=orders",
        "order": f"/bots/orders/{order.pk}/",
        "backtest": f"/strategies/backtests/{backtest.pk}/",
        "strategy": f"/strategies/{strategy.slug}/",
        "time-zone": "/account/time-zone/",
        "bot-new": "/bots/new/",
        "keys": "/keys/",
        "key": f"/keys/{bots[0].credential.pk}/",
        "key-link": "/keys/link/",
        "strategies": "/strategies/",
        "security": "/account/security/",
        "notifications": "/account/notifications/",
        "not-found": "/no-such-page/",
    }
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    newcomer = Client()
    newcomer.force_login(UserFactory())  # no key, no bot, no 2FA yet: the first-run view
    sessions = {
        "": (verified_client.cookies["sessionid"].value, pages),
        "new-": (newcomer.cookies["sessionid"].value, {"dashboard": "/dashboard/"}),
    }
    problems: list[str] = []
    for (prefix, (session, paths)), (size, (width, height)) in product(
        sessions.items(), SIZES.items()
    ):
        context = browser.new_context(
            viewport={"width": width, "height": height}, timezone_id="Europe/Berlin"
        )
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and "no-such-page" not in r.url
                else None
            ),
        )
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                # The plain live server speaks no WebSocket (test_browser_live_pages does).
                if m.type == "error"
                and "no-such-page" not in m.location.get("url", "")
                and "/ws/live/" not in m.text
                else None
            ),
        )
        for short, path in paths.items():
            name = prefix + short
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=ARTEFACTS / f"{name}-{size}.png", full_page=True)
            if size != "desktop":  # the full page is too tall to read shrunk: in parts too
                total = page.evaluate("document.documentElement.scrollHeight")
                for part, top in enumerate(range(0, min(total, 8000), 1400)):
                    clip: FloatRect = {
                        "x": 0,
                        "y": top,
                        "width": width,
                        "height": min(1400, total - top),
                    }
                    page.screenshot(
                        path=ARTEFACTS / f"{name}-{size}-{part}.png", full_page=True, clip=clip
                    )
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.append(f"{name} at {size} is {overflow}px wider than the screen")
            # A table that scrolls sideways inside its box hides columns on a phone.
            clipped = page.evaluate(
                "[...document.querySelectorAll('.table-wrap, table')]"
                ".filter(e => e.scrollWidth > e.clientWidth + 1)"
                ".map(e => (e.querySelector('th') || e).textContent.trim().slice(0, 30))"
            )
            if clipped:
                problems.append(f"{name} at {size}: tables wider than their box: {clipped}")
        context.close()
    assert problems == [], "\n".join(problems)
