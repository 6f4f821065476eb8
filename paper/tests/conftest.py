from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.exchange import PaperExchange

# Thirty seconds into a minute, so a test can move within the minute or past it.
START = datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC)
SECRET = "paper-test-secret"
_keys = itertools.count(1)

ExchangeFactory = Callable[..., PaperExchange]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def paper_config(clock: ManualClock) -> PaperConfig:
    return PaperConfig(clock=clock, rate_limit_per_minute=None)


@pytest.fixture
def make_exchange(db: None, paper_config: PaperConfig) -> ExchangeFactory:
    """A PaperExchange on a fresh paper account (or on ``api_key``'s)."""

    def make(
        api_key: str | None = None, secret: str = SECRET, config: PaperConfig | None = None
    ) -> PaperExchange:
        return PaperExchange(
            apiKey=api_key or f"paper-test-key-{next(_keys)}",
            secret=secret,
            config=config or paper_config,
        )

    return make


def key_of(exchange: PaperExchange) -> str:
    """The exchange's API key (every test exchange has one)."""
    assert exchange.apiKey is not None
    return exchange.apiKey


@pytest.fixture
def exchange(make_exchange: ExchangeFactory) -> PaperExchange:
    return make_exchange()
