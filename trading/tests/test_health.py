"""Honest status: a bot that cannot trade says so, why, and how to fix it, everywhere."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from strategies.models import Signal
from strategies.tests.factories import SignalFactory, StrategyFactory
from trading.health import bot_health, min_allocation, with_health
from trading.models import Bot, Decision
from trading.tests.factories import BotFactory
from trading.tests.test_views import create
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/bots/", "/bots/{bot}/"]


def health(bot: Bot):
    return bot_health(with_health(Bot.objects.filter(pk=bot.pk)).get())


@pytest.fixture
def bot(user) -> Bot:
    return BotFactory(owner=user)


def test_a_bot_that_can_trade_is_running(bot) -> None:
    assert health(bot).label == "Running" and not health(bot).blocked


@pytest.mark.parametrize(
    ("key_status", "reason", "fix"),
    [
        ("disabled", "its exchange key is disabled", "Re-enable the key."),
        ("invalid", "the exchange refused its key", "verify it again"),
        ("deleted", "its exchange key was deleted", "Stop this bot"),
    ],
)
def test_a_bot_on_an_unusable_key_is_blocked_on_every_page(
    verified_client: Client, bot, key_status, reason, fix
) -> None:
    bot.credential.status = key_status
    bot.credential.save()
    assert health(bot).label == f"Blocked — {reason}"
    for page in PAGES:
        html = verified_client.get(page.format(bot=bot.pk)).content.decode()
        assert f"Blocked — {reason}" in html, page
        assert fix in html, page
        assert ">Running<" not in html, page


def test_a_key_error_that_stopped_the_bot_is_shown_with_its_reason(bot) -> None:
    Bot.objects.filter(pk=bot.pk).update(status="error", status_reason="The exchange refused")
    assert health(bot).label == "Blocked — The exchange refused"


def test_an_allocation_below_the_market_minimum_is_blocked(verified_client: Client, user) -> None:
    small = BotFactory(owner=user, allocation=Decimal("5"))
    assert health(small).label.startswith("Blocked — its allocation is below")
    assert f"at least {min_allocation('paper'):f}" in health(small).fix
    html = verified_client.get("/bots/").content.decode()
    assert "Blocked — its allocation is below" in html


def test_each_market_of_a_bot_needs_its_own_minimum_share_of_the_allocation(user) -> None:
    # Fails before sleeves: 20 clears one market's minimum, not two markets' of 10 each.
    assert min_allocation("paper", 2) == 2 * min_allocation("paper")
    one = BotFactory(owner=user, allocation=min_allocation("paper"), markets=["BTC/USDT"])
    two = BotFactory(
        owner=user, allocation=min_allocation("paper"), markets=["BTC/USDT", "ETH/USDT"]
    )
    assert not health(one).blocked
    assert health(two).label.startswith("Blocked — its allocation is below")
    assert f"at least {min_allocation('paper', 2):f}" in health(two).fix


def test_a_bot_with_nothing_left_to_trade_is_out_of_funds(bot) -> None:
    Bot.objects.filter(pk=bot.pk).update(cash=Decimal("2"), equity=Decimal("3"))
    assert health(bot).label.startswith("Blocked — out of funds")


def test_a_bot_holding_a_position_is_not_out_of_funds(bot) -> None:
    # It can still sell what it holds.
    Bot.objects.filter(pk=bot.pk).update(cash=Decimal("2"), equity=Decimal("900"))
    assert health(bot).label == "Running"


def test_an_exchange_account_without_funds_blocks_the_bot_until_an_order_goes_through(
    bot,
) -> None:
    now = timezone.now()
    Decision.objects.create(
        bot=bot,
        signal=SignalFactory(strategy=bot.strategy),
        outcome="failed",
        reason="rejected",
        message="The exchange account does not have enough funds for this order.",
        decided_at=now,
    )
    assert health(bot).label == "Blocked — the exchange account is out of funds"
    Decision.objects.create(
        bot=bot,
        signal=SignalFactory(strategy=bot.strategy),
        outcome="executed",
        decided_at=now + dt.timedelta(seconds=1),
    )
    assert health(bot).label == "Running"


def test_paused_and_stopped_bots_say_so(bot) -> None:
    Bot.objects.filter(pk=bot.pk).update(status="paused", status_reason="Paused by you")
    assert health(bot).label == "Paused"
    Bot.objects.filter(pk=bot.pk).update(status="stopped")
    bot.credential.status = "disabled"
    bot.credential.save()
    assert health(bot).label == "Stopped"  # a stopped bot is not blocked: it is done


def test_the_bot_list_runs_the_same_queries_for_one_bot_or_many(
    verified_client: Client, user, django_assert_max_num_queries
) -> None:
    BotFactory(owner=user)
    verified_client.get("/bots/")
    with django_assert_max_num_queries(8) as one:
        verified_client.get("/bots/")
    for n in range(6):
        other = BotFactory(owner=user, allocation=Decimal("5") if n % 2 else Decimal("1000"))
        if n % 3 == 0:
            other.credential.status = "disabled"
            other.credential.save()
        Decision.objects.create(
            bot=other, signal=SignalFactory(strategy=other.strategy), outcome="failed",
            message="does not have enough funds", decided_at=timezone.now(),
        )  # fmt: skip
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = verified_client.get("/bots/").content.decode()
    assert html.count("Blocked —") == 6


def test_the_bot_list_shows_bots_that_can_trade_before_stopped_ones_newest_first(
    verified_client: Client, user
) -> None:
    # Failed before: newest first only, so a stopped bot made last week sat above
    # the running bots people open the page for.
    start = timezone.now() - dt.timedelta(days=10)
    names = {}
    for day, (name, status) in enumerate(
        [("old-running", "active"), ("old-stopped", "stopped"), ("paused", "paused"),
         ("error", "error"), ("new-stopped", "stopped"), ("new-running", "active")]
    ):  # fmt: skip
        bot = BotFactory(owner=user, name=name, status=status)
        Bot.objects.filter(pk=bot.pk).update(created_at=start + dt.timedelta(days=day))
        names[name] = bot
    html = verified_client.get("/bots/").content.decode()
    shown = sorted(names, key=lambda name: html.index(f">{name}</a>"))
    assert shown == ["new-running", "error", "paused", "old-running", "new-stopped", "old-stopped"]


class TestTheBotForm:
    @pytest.fixture
    def strategy(self):
        return StrategyFactory(markets=["BTC/USDT", "ETH/USDT"])

    def test_it_refuses_an_allocation_the_first_order_cannot_clear(
        self, verified_client: Client, user, strategy
    ) -> None:
        credential = CredentialFactory(owner=user)
        response = create(verified_client, credential, strategy, allocation="5")
        assert response.status_code == 200
        # In the currency it is counted in (it read "allocate at least 20 so ...").
        assert f"allocate at least {min_allocation('paper'):f} USDT so" in response.content.decode()
        assert not Bot.objects.filter(owner=user).exists()

    def test_it_shows_when_each_strategy_runs_next(self, verified_client: Client, strategy) -> None:
        html = verified_client.get("/bots/new/").content.decode()
        assert f"{strategy.name}: <time datetime=" in html

    def test_joining_executes_the_latest_fresh_buys_through_the_normal_checks(
        self, verified_client: Client, user, strategy, django_capture_on_commit_callbacks
    ) -> None:
        credential = CredentialFactory(owner=user)
        fresh_buy = SignalFactory(strategy=strategy, market="BTC/USDT", action="buy")
        # ETH: the strategy bought, then sold: it holds nothing there now.
        SignalFactory(strategy=strategy, market="ETH/USDT", action="buy")
        SignalFactory(strategy=strategy, market="ETH/USDT", action="sell")
        with django_capture_on_commit_callbacks(execute=True):
            response = create(
                verified_client,
                credential,
                strategy,
                markets=["BTC/USDT", "ETH/USDT"],
                join_now="on",
            )
        assert response.status_code == 302
        bot = Bot.objects.get(owner=user)
        decisions = list(bot.decisions.all())
        assert [d.signal_id for d in decisions] == [fresh_buy.pk]
        assert decisions[0].outcome == "executed", decisions[0].message

    def test_a_stale_signal_is_not_joined(
        self, verified_client: Client, user, strategy, django_capture_on_commit_callbacks
    ) -> None:
        credential = CredentialFactory(owner=user)
        old = timezone.now() - dt.timedelta(seconds=strategy.max_signal_age + 60)
        SignalFactory(strategy=strategy, market="BTC/USDT", action="buy", created_at=old)
        with django_capture_on_commit_callbacks(execute=True):
            create(verified_client, credential, strategy, join_now="on")
        assert not Bot.objects.get(owner=user).decisions.exists()

    def test_joining_says_which_markets_it_joins_or_that_there_is_nothing_to_join(
        self, verified_client: Client, user, strategy
    ) -> None:
        credential = CredentialFactory(owner=user)
        response = create(verified_client, credential, strategy, join_now="on", name="Early")
        page = verified_client.get(response.url).content.decode()
        assert "joining the strategy&#x27;s current position" not in page
        assert "no fresh position to join" in page
        SignalFactory(strategy=strategy, market="BTC/USDT", action="target")
        response = create(verified_client, credential, strategy, join_now="on", name="Later")
        page = verified_client.get(response.url).content.decode()
        assert "joining the strategy&#x27;s current position in BTC/USDT" in page

    def test_without_joining_nothing_is_executed(
        self, verified_client: Client, user, strategy, django_capture_on_commit_callbacks
    ) -> None:
        credential = CredentialFactory(owner=user)
        SignalFactory(strategy=strategy, market="BTC/USDT", action=Signal.Action.BUY)
        with django_capture_on_commit_callbacks(execute=True):
            create(verified_client, credential, strategy)
        assert not Bot.objects.get(owner=user).decisions.exists()


def test_the_bot_page_shows_when_the_strategy_runs_next(verified_client: Client, bot) -> None:
    html = verified_client.get(f"/bots/{bot.pk}/").content.decode()
    assert f"Next run of {bot.strategy.name}" in html
