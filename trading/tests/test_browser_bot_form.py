"""The new-bot form offers only the markets the chosen strategy trades in the chosen
quote currency (it listed every market of every strategy: new-user walk); the new
bot's page says why its price chart is empty (an empty frame read as broken)."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page

from accounts.tests.test_browser_signup_flow import browser  # noqa: F401 - the fixture
from strategies.models import Strategy
from strategies.tests.factories import StrategyFactory
from trading.models import Bot
from vault.tests.factories import CredentialFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _offered(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#id_markets input[type=checkbox]",
        "boxes => boxes.filter(b => !b.closest('[hidden]')).map(b => b.value)",
    )


def test_the_market_list_follows_the_strategy_and_quote_currency(
    browser: Browser, live_server, verified_client: Client, user
) -> None:
    Strategy.objects.update(is_active=False)  # only this test's strategies are offered
    majors = StrategyFactory(name="A majors", markets=["BTC/USDT", "ETH/USDT", "BTC/USDC"])
    StrategyFactory(name="B solana", markets=["SOL/USDT"])
    CredentialFactory(owner=user, label="Paper account")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies(
        [{"name": "sessionid", "value": verified_client.cookies["sessionid"].value,
          "url": live_server.url}]
    )  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(live_server.url + "/bots/new/")
    page.select_option("#id_strategy", label="A majors")
    page.select_option("#id_quote_currency", "USDT")
    assert _offered(page) == ["BTC/USDT", "ETH/USDT"]

    page.check("input[value='ETH/USDT']")
    page.select_option("#id_quote_currency", "USDC")
    assert _offered(page) == ["BTC/USDC"]
    assert not page.is_checked("input[value='ETH/USDT']")  # a hidden box is never sent

    page.select_option("#id_strategy", label="B solana")
    assert _offered(page) == []
    assert "trades no market quoted in USDC" in page.inner_text(".no-choices")
    page.select_option("#id_quote_currency", "USDT")
    assert _offered(page) == ["SOL/USDT"]

    page.select_option("#id_strategy", label="A majors")
    page.check("input[value='BTC/USDT']")
    page.fill("#id_name", "Majors")
    page.fill("#id_allocation", "100")
    page.click("text=Start the bot")
    page.wait_for_url("**/bots/*/")
    # No candles stored yet for its market: the price chart says so instead of an empty frame.
    page.wait_for_selector(".chart-empty")
    assert "No BTC/USDT candles stored yet" in page.inner_text(".chart-empty")
    bot = Bot.objects.get(owner=user)
    assert (bot.strategy_id, bot.markets, bot.quote_currency) == (majors.pk, ["BTC/USDT"], "USDT")
    context.close()
