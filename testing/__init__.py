"""Test helpers for code that talks to exchanges: a Binance emulator and its fixtures."""
