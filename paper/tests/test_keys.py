"""Paper accounts: opened by their key, guarded by their secret, kept apart."""

from __future__ import annotations

import hashlib

import ccxt
import pytest

from paper.config import PaperConfig
from paper.exchange import PaperExchange
from paper.keys import new_credentials
from paper.models import PaperAccount
from paper.tests.conftest import SECRET, ExchangeFactory


def test_a_new_key_opens_a_funded_account_and_keeps_only_a_hash_of_the_secret(
    exchange: PaperExchange,
) -> None:
    exchange.fetch_balance()
    account = PaperAccount.objects.get(api_key=exchange.apiKey)
    assert account.secret_sha256 == hashlib.sha256(SECRET.encode()).hexdigest()
    assert SECRET not in {str(value) for value in account.__dict__.values()}


def test_a_wrong_secret_for_an_existing_account_is_refused(make_exchange: ExchangeFactory) -> None:
    make_exchange(api_key="paper-shared").fetch_balance()
    intruder = make_exchange(api_key="paper-shared", secret="guessed")
    with pytest.raises(ccxt.AuthenticationError) as caught:
        intruder.fetch_balance()
    assert "guessed" not in str(caught.value)
    with pytest.raises(ccxt.AuthenticationError):
        intruder.create_order("BTC/USDT", "market", "buy", 0.001)


def test_private_calls_need_both_key_and_secret(paper_config: PaperConfig, db: None) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="requires"):
        PaperExchange(config=paper_config).fetch_balance()
    with pytest.raises(ccxt.AuthenticationError):
        PaperExchange(apiKey="paper-no-secret", config=paper_config).fetch_open_orders()


def test_public_market_data_needs_no_key(paper_config: PaperConfig) -> None:
    # No database either: this test has no db fixture.
    assert PaperExchange(config=paper_config).fetch_ticker("ETH/USDC")["last"] > 0


def test_two_accounts_are_isolated(make_exchange: ExchangeFactory) -> None:
    alice, bob = make_exchange(), make_exchange()
    order = alice.create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "same-id"}
    )
    assert bob.fetch_balance()["total"] == {"USDC": 10000.0, "USDT": 10000.0}
    assert bob.fetch_my_trades() == [] and bob.fetch_open_orders() == []
    with pytest.raises(ccxt.OrderNotFound):
        bob.fetch_order(order["id"])
    with pytest.raises(ccxt.OrderNotFound):
        bob.cancel_order(order["id"])
    # A client order id is unique per account, not across accounts.
    bob.create_order("BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "same-id"})


def test_the_starting_balances_come_from_settings(settings, db: None, clock) -> None:
    settings.PAPER_STARTING_BALANCES = {"USDT": "250.5", "BTC": "0.1"}
    config = PaperConfig.from_settings(clock=clock)
    exchange = PaperExchange(apiKey="paper-settings", secret=SECRET, config=config)
    assert exchange.fetch_balance()["total"] == {"BTC": 0.1, "USDT": 250.5}


def test_the_seed_comes_from_settings(settings, clock) -> None:
    settings.PAPER_SEED = 1
    one = PaperExchange(config=PaperConfig.from_settings(clock=clock))
    settings.PAPER_SEED = 2
    two = PaperExchange(config=PaperConfig.from_settings(clock=clock))
    assert one.fetch_ticker("BTC/USDT")["last"] != two.fetch_ticker("BTC/USDT")["last"]


def test_the_exchange_can_be_built_like_a_ccxt_exchange(paper_config: PaperConfig) -> None:
    exchange = PaperExchange({"apiKey": "paper-k", "secret": "hush-hush", "enableRateLimit": True})
    assert (exchange.apiKey, exchange.secret) == ("paper-k", "hush-hush")
    assert "hush" not in repr(exchange)


def test_new_credentials_are_random_and_look_like_paper_keys() -> None:
    (key1, secret1), (key2, secret2) = new_credentials(), new_credentials()
    assert key1.startswith("paper-") and key1 != key2 and secret1 != secret2
    assert len(secret1) >= 40
