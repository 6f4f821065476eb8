"""Pytest fixtures: the local Kraken, Bitvavo and One Trading fakes, routed to by ccxt.

Use them from a ``conftest.py`` or test module::

    from testing.fake_fixtures import bitvavo_fake, kraken_fake, onetrading_fake  # noqa: F401

Each fixture points ``settings.EXCHANGE_URL_OVERRIDES`` at its fake and fails
the test if the fake saw a request that could have moved funds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import pytest

from testing.bitvavo_fake import FakeBitvavo
from testing.http_fake import FakeExchangeServer
from testing.kraken_fake import FakeKraken
from testing.onetrading_fake import FakeOneTrading

F = TypeVar("F", bound=FakeExchangeServer)


def _serve(fake: F, exchange_id: str, settings: object) -> Iterator[F]:
    settings.EXCHANGE_URL_OVERRIDES = {  # type: ignore[attr-defined]
        **settings.EXCHANGE_URL_OVERRIDES,  # type: ignore[attr-defined]
        exchange_id: fake.url,
    }
    with fake:
        yield fake
    if fake.violations:
        pytest.fail(f"a key check sent requests it must never send: {fake.violations}")


@pytest.fixture
def kraken_fake(settings) -> Iterator[FakeKraken]:
    yield from _serve(FakeKraken(), "kraken", settings)


@pytest.fixture
def bitvavo_fake(settings) -> Iterator[FakeBitvavo]:
    yield from _serve(FakeBitvavo(), "bitvavo", settings)


@pytest.fixture
def onetrading_fake(settings) -> Iterator[FakeOneTrading]:
    yield from _serve(FakeOneTrading(), "onetrading", settings)
