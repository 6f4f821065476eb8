"""A backtest requested in the browser shows that it is working, then its results."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.tests.test_browser_signup_flow import (  # noqa: F401 - the fixtures
    browser,
    page,
    page_problems,
)
from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.exchange import PaperExchange
from strategies.models import Backtest
from strategies.services import backtest_execute
from strategies.tests.factories import StrategyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records the button as the submit handler (static/js/app.js) left it, across the
# navigation that follows: the busy state lasts only while the server answers.
WATCH_SUBMIT = """
document.addEventListener("submit", function (event) {
  var button = event.target.querySelector("button[type=submit]");
  sessionStorage.setItem("submitted", JSON.stringify({
    disabled: button.disabled, busy: button.getAttribute("aria-busy"), text: button.textContent
  }));
});
"""


def test_the_backtest_button_shows_it_is_working_and_the_page_shows_progress_then_results(
    page: Page, page_problems: list[str], live_server, verified_client: Client, monkeypatch
) -> None:
    # No task cluster in tests: the test plays the worker below.
    monkeypatch.setattr("strategies.services.async_task", lambda *args: None)
    strategy = StrategyFactory(
        name="Progress Strategy",
        params={"fast": 3, "slow": 6, "vol_window": 5},
        markets=["BTC/USDT"],
    )
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": verified_client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    page.goto(f"{live_server.url}/strategies/{strategy.slug}/")
    page.evaluate(WATCH_SUBMIT)
    # The period applies only to the exchange's candles: hidden while real history is chosen.
    expect(page.get_by_label("Market data")).to_have_value("real")
    expect(page.get_by_label("Period")).to_be_hidden()
    # The paper exchange's candles (the shipped real history is not loaded in tests).
    page.get_by_label("Market data").select_option("exchange")
    expect(page.get_by_label("Period")).to_be_visible()
    page.get_by_label("Period").select_option("90")
    page.get_by_role("button", name="Run backtest").click()

    page.wait_for_url("**/strategies/backtests/**")
    assert page.evaluate("JSON.parse(sessionStorage.getItem('submitted'))") == {
        "disabled": True,
        "busy": "true",
        "text": "Starting the backtest…",
    }
    expect(page.get_by_role("heading", name="Waiting for a worker")).to_be_visible()
    expect(page.locator("progress")).to_have_attribute("value", "0")

    backtest = Backtest.objects.get()
    # A worker picks it up: the page follows without the user reloading it.
    Backtest.objects.filter(pk=backtest.pk).update(status="running", phase="replaying", progress=64)
    expect(page.get_by_role("heading", name="Running: replaying")).to_be_visible()
    expect(page.locator("progress")).to_have_attribute("value", "64")

    paper = PaperExchange(config=PaperConfig(clock=ManualClock(timezone.now())))
    done = backtest_execute(backtest=backtest, client=paper)
    assert done.status == Backtest.Status.DONE
    expect(page.get_by_role("heading", name=f"Results over {done.candles} candles")).to_be_visible()
    expect(page.locator("progress")).to_have_count(0)
    # The price chart with the trades the run stored, drawn by lightweight-charts.
    expect(page.locator('[data-chart="candles"] canvas').first).to_be_visible()
    assert page_problems == []
