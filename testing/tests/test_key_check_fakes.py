"""The fakes catch what a key check must never send, so a probe that could move
funds fails the test that sent it."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from testing.bitvavo_fake import FakeBitvavo
from testing.kraken_fake import FakeKraken
from testing.onetrading_fake import FakeOneTrading
from vault.clients import route_to
from vault.verification import PROBE_WITHDRAWAL


@pytest.fixture
def bitvavo() -> Iterator[FakeBitvavo]:
    with FakeBitvavo() as fake:
        yield fake


def bitvavo_client(fake: FakeBitvavo) -> ccxt.bitvavo:
    key = fake.add_key(can_withdraw=True)
    client = ccxt.bitvavo({"apiKey": key.api_key, "secret": key.secret})
    route_to(client, fake.url)
    return client


@pytest.mark.parametrize(
    "params",
    [
        {"symbol": "BTC", "amount": "0.5", "address": "oneclick-permission-probe-x"},
        {"symbol": "BTC", "amount": "0", "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"},
        {"symbol": "BTC", "address": "oneclick-permission-probe-x"},
    ],
)
def test_the_bitvavo_fake_flags_a_withdrawal_that_could_succeed(
    bitvavo: FakeBitvavo, params: dict
) -> None:
    with pytest.raises(ccxt.BaseError):
        bitvavo_client(bitvavo).private_post_withdrawal(params)
    assert bitvavo.violations


def test_the_bitvavo_fake_accepts_the_harmless_probe_and_answers_bitvavos_code(
    bitvavo: FakeBitvavo,
) -> None:
    with pytest.raises(ccxt.InvalidOrder, match='"errorCode": 205'):
        bitvavo_client(bitvavo).private_post_withdrawal(dict(PROBE_WITHDRAWAL))
    assert bitvavo.violations == []


def test_the_kraken_fake_flags_anything_but_get_api_key_info() -> None:
    with FakeKraken() as fake:
        key = fake.add_key()
        client = ccxt.kraken({"apiKey": key.api_key, "secret": key.secret})
        route_to(client, fake.url)
        with pytest.raises(ccxt.BaseError):
            client.private_post_withdraw({"asset": "XBT", "key": "mine", "amount": "1"})
        assert fake.violations


def test_the_one_trading_fake_flags_any_other_call() -> None:
    with FakeOneTrading() as fake:
        client = ccxt.onetrading({"apiKey": fake.add_key().token})
        route_to(client, fake.url)
        with pytest.raises(ccxt.BaseError):
            client.private_post_account_orders({"instrument_code": "BTC_EUR", "side": "BUY"})
        assert fake.violations
