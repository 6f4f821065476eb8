"""Bot pages: ownership, step-up for sensitive changes, pause/resume/stop."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import SecurityEvent
from accounts.stepup import STEPUP_SESSION_KEY
from strategies.tests.factories import StrategyFactory
from trading.models import Bot, Order
from trading.tests.factories import BotFactory
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db


def stale(client: Client) -> None:
    session = client.session
    session[STEPUP_SESSION_KEY] = time.time() - 3600
    session.save()


@pytest.fixture
def bot(user) -> Bot:
    return BotFactory(owner=user)


@pytest.fixture
def strategy():
    return StrategyFactory(markets=["BTC/USDT", "ETH/USDT", "BTC/USDC"])


def create(client: Client, credential, strategy, **overrides):
    data = {
        "name": "Trend bot",
        "credential": credential.pk,
        "strategy": strategy.pk,
        "quote_currency": "USDT",
        "markets": ["BTC/USDT"],
        "allocation": "500",
    }
    return client.post("/bots/new/", {**data, **overrides})


class TestCreate:
    def test_a_bot_is_created_within_the_free_balance(
        self, verified_client, user, strategy
    ) -> None:
        credential = CredentialFactory(owner=user)
        response = create(verified_client, credential, strategy)
        bot = Bot.objects.get(owner=user)
        assert response.status_code == 302 and response.url == f"/bots/{bot.pk}/"
        assert bot.allocation == Decimal("500") and bot.cash == Decimal("500")
        assert SecurityEvent.objects.filter(user=user, kind="bot_created").exists()

    def test_an_allocation_above_the_free_balance_is_refused(
        self, verified_client, user, strategy
    ) -> None:
        credential = CredentialFactory(owner=user)
        page = create(verified_client, credential, strategy, allocation="20000").content.decode()
        assert "free for a new allocation" in page
        assert not Bot.objects.exists()

    def test_other_bots_allocations_count_against_the_balance(
        self, verified_client, user, strategy
    ) -> None:
        credential = CredentialFactory(owner=user)
        create(verified_client, credential, strategy, allocation="6000")
        page = create(verified_client, credential, strategy, allocation="6000").content.decode()
        assert "free for a new allocation" in page
        assert Bot.objects.count() == 1

    def test_markets_must_be_the_strategys_and_in_the_quote(
        self, verified_client, user, strategy
    ) -> None:
        credential = CredentialFactory(owner=user)
        page = create(verified_client, credential, strategy, markets=["BTC/USDC"]).content.decode()
        assert "is not quoted in USDT" in page

    def test_a_market_listed_twice_is_refused(self, verified_client, user, strategy) -> None:
        # Failed before: stored as ["BTC/USDT", "BTC/USDT"], so the one market got half
        # the allocation as its share and the minimum was counted for two markets.
        credential = CredentialFactory(owner=user)
        twice = ["BTC/USDT", "BTC/USDT"]
        page = create(verified_client, credential, strategy, markets=twice).content.decode()
        assert "BTC/USDT is chosen twice" in page
        assert not Bot.objects.exists()

    @pytest.mark.parametrize("name", ["evil\r\nBcc: x@example.com", "tab\there", "a\u202eb"])
    def test_a_name_with_a_line_break_or_direction_control_is_refused(
        self, verified_client, user, strategy, name: str
    ) -> None:
        # Failed before: stored, and the bot's alert emails (its name in the subject)
        # then failed to send (BadHeaderError) or showed a reversed name.
        credential = CredentialFactory(owner=user)
        page = create(verified_client, credential, strategy, name=name).content.decode()
        assert "no line breaks, tabs or direction controls" in page
        assert not Bot.objects.exists()

    @pytest.mark.parametrize(
        "name", ["\ufeff", "\u200b\u200b", "\u2060", "\ufeff \u200b\u3000", "\u3164", "\u2800"]
    )
    def test_a_name_of_invisible_characters_only_is_refused(
        self, verified_client, user, strategy, name: str
    ) -> None:
        # Failed before: stored, and the bot showed as a blank name in every list.
        credential = CredentialFactory(owner=user)
        page = create(verified_client, credential, strategy, name=name).content.decode()
        assert "at least one visible letter, digit or sign" in page
        assert not Bot.objects.exists()

    def test_another_users_key_cannot_be_chosen(self, verified_client, strategy) -> None:
        page = create(verified_client, CredentialFactory(), strategy).content.decode()
        assert "Select a valid choice" in page
        assert not Bot.objects.exists()

    def test_creating_needs_a_fresh_code(self, verified_client, user, strategy) -> None:
        stale(verified_client)
        response = create(verified_client, CredentialFactory(owner=user), strategy)
        assert response.status_code == 302 and "/account/2fa/confirm/" in response.url
        assert not Bot.objects.exists()


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", "pause/"),
        ("post", "resume/"),
        ("post", "allocation/"),
        ("post", "stop/"),
    ],
)
def test_another_users_bot_is_a_404(verified_client: Client, method: str, suffix: str) -> None:
    other = BotFactory()
    response = getattr(verified_client, method)(f"/bots/{other.pk}/{suffix}", {"allocation": "1"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "active" and other.allocation == Decimal("1000")


def test_another_users_order_and_decision_are_404s(verified_client: Client) -> None:
    from strategies.tests.factories import SignalFactory
    from trading.models import Decision

    other = BotFactory()
    decision = Decision.objects.create(bot=other, signal=SignalFactory(strategy=other.strategy))
    order = Order.objects.create(
        bot=other, credential=other.credential, exchange_id="paper", market="BTC/USDT",
        side="buy", amount=Decimal("0.1"), client_order_id="oc-other",
    )  # fmt: skip
    assert verified_client.get(f"/bots/orders/{order.pk}/").status_code == 404
    assert verified_client.get(f"/bots/decisions/{decision.pk}/").status_code == 404


def test_pause_needs_no_code_and_resume_does(verified_client: Client, bot) -> None:
    stale(verified_client)
    verified_client.post(f"/bots/{bot.pk}/pause/")
    bot.refresh_from_db()
    assert bot.status == "paused"
    response = verified_client.post(f"/bots/{bot.pk}/resume/")
    assert "/account/2fa/confirm/" in response["Location"]
    bot.refresh_from_db()
    assert bot.status == "paused"


def test_resume_with_a_fresh_code(verified_client: Client, bot) -> None:
    Bot.objects.filter(pk=bot.pk).update(status="paused")
    verified_client.post(f"/bots/{bot.pk}/resume/")
    bot.refresh_from_db()
    assert bot.status == "active"


def test_raising_the_allocation_needs_a_fresh_code_lowering_does_not(
    verified_client: Client, bot
) -> None:
    stale(verified_client)
    response = verified_client.post(f"/bots/{bot.pk}/allocation/", {"allocation": "1500"})
    assert "/account/2fa/confirm/" in response["Location"]
    bot.refresh_from_db()
    assert bot.allocation == Decimal("1000")
    verified_client.post(f"/bots/{bot.pk}/allocation/", {"allocation": "800"})
    bot.refresh_from_db()
    assert bot.allocation == Decimal("800") and bot.cash == Decimal("800")


def test_stopping_sells_the_position_when_asked(
    verified_client: Client, bot, settings, django_capture_on_commit_callbacks
) -> None:
    from strategies.tests.factories import SignalFactory
    from trading.execution import execute

    execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    assert bot.positions.get().amount > 0
    with django_capture_on_commit_callbacks(execute=True):
        verified_client.post(f"/bots/{bot.pk}/stop/", {"sell_positions": "on"})
    bot.refresh_from_db()
    assert bot.status == "stopped"
    sell = Order.objects.get(bot=bot, side="sell")
    assert sell.status == "closed"
    assert bot.positions.get().amount < Decimal("0.00001")  # only the unsellable dust stays


def test_stopping_answers_before_the_exchange_is_called_and_a_task_sells(
    verified_client: Client, bot, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from oneclick.tests.broker import queued_packages
    from strategies.tests.factories import SignalFactory
    from trading.execution import execute
    from trading.tasks import wind_down_bot

    execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    responses = []

    def stop() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            responses.append(
                verified_client.post(f"/bots/{bot.pk}/stop/", {"sell_positions": "on"})
            )

    [task] = queued_packages(monkeypatch, stop)
    [response] = responses
    assert response.status_code == 302
    bot.refresh_from_db()
    assert bot.status == "stopped"
    assert not Order.objects.filter(bot=bot, side="sell").exists(), "sold inside the request"
    assert (task["func"], task["args"]) == ("trading.tasks.wind_down_bot", (str(bot.pk), True))
    wind_down_bot(*task["args"])  # the worker's turn
    assert Order.objects.get(bot=bot, side="sell").status == "closed"
    assert verified_client.get(f"/bots/{bot.pk}/").status_code == 200


def test_the_bot_page_query_count_is_constant(
    verified_client: Client, bot, django_assert_num_queries
) -> None:
    from strategies.tests.factories import SignalFactory
    from trading.models import Decision

    Decision.objects.create(bot=bot, signal=SignalFactory(strategy=bot.strategy), outcome="ignored")
    # The first view reads the chart's snapshots before this slot (then cached per slot).
    verified_client.get(f"/bots/{bot.pk}/")
    # Session, user, 2FA; the bot (with its strategy's next run and this slot's snapshot);
    # decisions, orders, positions; trade markers and candles of its one market (charts).
    with django_assert_num_queries(9):
        verified_client.get(f"/bots/{bot.pk}/")
    for _ in range(5):
        Decision.objects.create(
            bot=bot, signal=SignalFactory(strategy=bot.strategy), outcome="ignored"
        )
    with django_assert_num_queries(9):
        verified_client.get(f"/bots/{bot.pk}/")


def test_the_dashboard_sums_up_keys_and_bots(verified_client: Client, bot) -> None:
    page = verified_client.get("/dashboard/").content.decode()
    assert "Running" in page and bot.name in page and "1,000.00 USDT" in page


def test_the_dashboard_says_in_words_when_a_key_is_not_active(verified_client: Client, bot) -> None:
    from vault.models import ExchangeCredential

    ExchangeCredential.objects.filter(pk=bot.credential_id).update(status="disabled")
    page = verified_client.get("/dashboard/").content.decode()
    box = page[page.index("Exchange keys and balances") :]
    assert '<span class="badge disabled">Disabled</span>' in box


def test_my_order_and_decision_pages_show_plain_amounts(verified_client: Client, bot) -> None:
    from strategies.tests.factories import SignalFactory
    from trading.execution import execute

    decision = execute(bot.pk, SignalFactory(strategy=bot.strategy).pk)
    order = Order.objects.get(bot=bot)
    page = verified_client.get(f"/bots/orders/{order.pk}/").content.decode()
    assert order.client_order_id in page and "E+" not in page and "E-" not in page
    assert "Executed" in verified_client.get(f"/bots/decisions/{decision.pk}/").content.decode()


def test_a_target_decision_says_what_share_it_holds_and_which_order_it_became(
    verified_client: Client, bot
) -> None:
    from strategies.tests.factories import SignalFactory
    from trading.execution import execute

    signal = SignalFactory(strategy=bot.strategy, action="target", fraction=Decimal("0.4"))
    decision = execute(bot.pk, signal.pk)
    page = verified_client.get(f"/bots/decisions/{decision.pk}/").content.decode()
    order = Order.objects.get(bot=bot)
    assert order.side == "buy"
    assert "Target 40% of the allocation in BTC/USDT → bought " in page
    assert f"/bots/orders/{order.pk}/" in page


def test_every_page_that_shows_a_target_says_it_in_words_never_the_raw_action(
    verified_client: Client, bot
) -> None:
    from strategies.tests.factories import SignalFactory
    from trading.execution import execute

    signal = SignalFactory(strategy=bot.strategy, action="target", fraction=Decimal("0.45"))
    decision = execute(bot.pk, signal.pk)
    order = Order.objects.get(bot=bot)
    pages = {
        "dashboard": "/dashboard/",
        "bot": f"/bots/{bot.pk}/",
        "decision": f"/bots/decisions/{decision.pk}/",
        "order": f"/bots/orders/{order.pk}/",
        "strategy": f"/strategies/{bot.strategy.slug}/",
    }
    for name, url in pages.items():
        page = verified_client.get(url).content.decode()
        assert "Target 45% of the allocation in BTC/USDT" in page, name
        # Not the raw action and market ("Target BTC/USDT") nor its executed message.
        assert "Target BTC/USDT" not in page and "target BTC/USDT" not in page, name
        assert "buy 0.0" not in page, name
    assert "→ bought " in verified_client.get("/dashboard/").content.decode()


def test_the_new_bot_form_labels_its_market_list_above_the_boxes(
    verified_client: Client, bot
) -> None:
    page = verified_client.get("/bots/new/").content.decode()
    label = page.index(">Markets:</label>")
    first_box = page.index('name="markets"')
    # The list's label came after its first box, beside it, as for a single checkbox.
    assert label < first_box
    assert '<span class="checkbox-line"><input type="checkbox" name="join_now"' in page


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("NaN", "Enter the allocation as a number"),
        ("abc", "Enter the allocation as a number"),
        ("1e30", "That allocation is too large."),
        ("-1", "at least 1"),
        ("12.345", "at most 2 decimals"),
    ],
)
def test_a_bad_allocation_says_what_is_wrong_with_it_and_changes_nothing(
    verified_client: Client, bot, typed: str, said: str
) -> None:
    before = bot.allocation
    response = verified_client.post(
        f"/bots/{bot.pk}/allocation/", {"allocation": typed}, follow=True
    )
    page = response.content.decode()
    assert said in page and typed in page
    bot.refresh_from_db()
    assert bot.allocation == before


def test_a_two_market_bots_target_says_it_is_of_that_markets_share(
    verified_client: Client, user
) -> None:
    from strategies.tests.factories import SignalFactory
    from trading.execution import execute

    strategy = StrategyFactory(markets=["BTC/USDT", "ETH/USDT"])
    bot = BotFactory(
        owner=user,
        strategy=strategy,
        credential=CredentialFactory(owner=user),
        markets=["BTC/USDT", "ETH/USDT"],
    )
    signal = SignalFactory(
        strategy=strategy, market="BTC/USDT", action="target", fraction=Decimal("0.5")
    )
    decision = execute(bot.pk, signal.pk)
    for url in ("/dashboard/", f"/bots/{bot.pk}/", f"/bots/decisions/{decision.pk}/"):
        page = verified_client.get(url).content.decode()
        # Half of the BTC/USDT half, not half of the whole allocation.
        assert "Target 50% of the allocation&#x27;s 1/2 share for BTC/USDT" in page, url


def test_the_new_bot_page_says_why_no_key_can_be_chosen(verified_client: Client, user) -> None:
    CredentialFactory(owner=user, status="disabled")
    page = verified_client.get("/bots/new/").content.decode()
    # An empty key list and "This field is required." on submit said nothing of why.
    assert "A bot needs an active exchange key" in page
    assert 'href="/keys/"' in page and 'href="/keys/link/"' in page
    assert "Start the bot" not in page


def test_a_dashboard_with_a_key_and_no_bot_yet_listens_for_its_balances(
    verified_client: Client, user
) -> None:
    # A first balances read lands a moment after linking: the page updates itself.
    CredentialFactory(owner=user)
    page = verified_client.get("/dashboard/").content.decode()
    assert "js/live.js" in page


def live_links(page: str) -> list[str]:
    """The texts of the links inside the page's live regions (static/js/live.js
    replaces the content of every element with an id and data-live-refresh)."""
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[bool] = []  # per open element: is it a live region?
            self.link: list[str] | None = None
            self.found: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            names = dict(attrs)
            if tag == "a" and any(self.open):
                self.link = []
            if tag not in ("a", "br", "img", "input", "meta", "link", "hr", "source"):
                self.open.append("data-live-refresh" in names and bool(names.get("id")))

        def handle_endtag(self, tag: str) -> None:
            if tag == "a" and self.link is not None:
                self.found.append("".join(self.link).strip())
                self.link = None
            elif tag not in ("br", "img", "input", "meta", "link", "hr", "source") and self.open:
                self.open.pop()

        def handle_data(self, data: str) -> None:
            if self.link is not None:
                self.link.append(data)

    parser = Links()
    parser.feed(page)
    return parser.found


def test_the_dashboards_orders_and_fills_link_is_refreshed_live(
    verified_client: Client, user
) -> None:
    # Failed before: outside the live regions, so the first bot's arrival showed its
    # card but the link to its orders and fills came only with a reload.
    CredentialFactory(owner=user)
    assert "Orders and fills" not in live_links(verified_client.get("/dashboard/").content.decode())
    BotFactory(owner=user)
    assert "Orders and fills" in live_links(verified_client.get("/dashboard/").content.decode())


def test_an_active_key_offers_to_start_a_bot_with_it_chosen(verified_client: Client, user) -> None:
    CredentialFactory(owner=user, label="Main account")
    paper = CredentialFactory(owner=user, label="Paper account")
    key_page = verified_client.get(f"/keys/{paper.pk}/").content.decode()
    # Before, a freshly opened paper account's page ended at Disable / Delete.
    assert f'href="/bots/new/?credential={paper.pk}"' in key_page
    form = verified_client.get(f"/bots/new/?credential={paper.pk}").content.decode()
    assert f'<option value="{paper.pk}" selected>' in form
    stranger = CredentialFactory()
    other = verified_client.get(f"/bots/new/?credential={stranger.pk}").content.decode()
    assert str(stranger.pk) not in other
    assert verified_client.get("/bots/new/?credential=%00nonsense").status_code in (200, 400)
