"""Pytest fixtures for tests that talk to Binance through ccxt.

Use them from any app's ``conftest.py``::

    from testing.fixtures import binance, binance_emulator, binance_key  # noqa: F401

The emulator answers from its own threads, so these fixtures use
``transactional_db`` (real commits, tables flushed after each test).
"""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from testing.binance_emulator import BinanceEmulator, EmulatorKey, binance_client


@pytest.fixture
def binance_emulator(transactional_db: None) -> Iterator[BinanceEmulator]:
    """A running emulator on 127.0.0.1 with Binance's default limits."""
    with BinanceEmulator() as emulator:
        yield emulator


@pytest.fixture
def binance_key(binance_emulator: BinanceEmulator) -> EmulatorKey:
    """A trade-only, IP-restricted key: the kind OneClick accepts."""
    return binance_emulator.add_key()


@pytest.fixture
def binance(binance_emulator: BinanceEmulator, binance_key: EmulatorKey) -> ccxt.binance:
    """The real ccxt Binance client, signed with ``binance_key``, pointed at the emulator."""
    return binance_client(binance_emulator, binance_key.api_key, binance_key.secret)
