from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tests.conftest import authenticator, totp_device, user, verified_client  # noqa: F401
from testing.binance_emulator import BinanceEmulator
from testing.fixtures import binance_emulator  # noqa: F401
from trading.models import Bot
from trading.tests.factories import BotFactory
from vault.tests.factories import CredentialFactory


@pytest.fixture(autouse=True)
def in_memory_channel_layer(settings) -> None:
    # Live pushes stay in this process; the cross-process layers have their own test.
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()


@pytest.fixture
def emulator(binance_emulator: BinanceEmulator, settings) -> BinanceEmulator:
    """The Binance emulator as the exchange ``binance``, with no waits between tries: a
    sweep right after a failure tries again (lookups, grace period, decision retries)."""
    settings.EXCHANGE_URL_OVERRIDES = {"binance": binance_emulator.url}
    settings.SWEEPER_MIN_AGE_SECONDS = 0
    settings.ORDER_LOOKUP_GRACE_SECONDS = 0
    settings.ORDER_LOOKUP_RETRY_SECONDS = 0
    settings.DECISION_RETRY_SECONDS = 0
    return binance_emulator


def emulator_bot(emulator: BinanceEmulator, **fields: object) -> Bot:
    """A running bot on its own emulator key (and so its own owner)."""
    key = emulator.add_key()
    credential = CredentialFactory(exchange_id="binance", api_key=key.api_key, secret=key.secret)
    return BotFactory(owner=credential.owner, credential=credential, **fields)


@pytest.fixture
def binance_bot(emulator: BinanceEmulator) -> Bot:
    """A running bot with 1,000 USDT on its own emulator key."""
    return emulator_bot(emulator, allocation=Decimal("1000"))


@pytest.fixture
def binance_bots(emulator: BinanceEmulator) -> list[Bot]:
    """Three running bots of one strategy, each on its own emulator key: a batch."""
    bots = [emulator_bot(emulator) for _ in range(3)]
    Bot.objects.filter(pk__in=[b.pk for b in bots]).update(strategy=bots[0].strategy)
    for bot in bots:
        bot.refresh_from_db()
    return bots
