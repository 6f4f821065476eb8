from testing.fixtures import binance, binance_emulator, binance_key  # noqa: F401
