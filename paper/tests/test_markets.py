from __future__ import annotations

import ccxt
import pytest

from paper.exchange import PaperExchange
from paper.markets import MARKETS


def test_the_markets_are_spot_markets_with_binance_like_precision_and_minimums() -> None:
    markets = PaperExchange(apiKey=None).load_markets()
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDC", "ETH/USDC"} <= set(markets)
    btc = markets["BTC/USDT"]
    assert btc["id"] == "BTCUSDT" and btc["base"] == "BTC" and btc["quote"] == "USDT"
    assert btc["type"] == "spot" and btc["spot"] is True and btc["active"] is True
    assert btc["precision"] == {"amount": 1e-05, "price": 0.01, "base": 1e-08, "quote": 1e-08}
    assert btc["limits"]["amount"]["min"] == 1e-05
    assert btc["limits"]["cost"]["min"] == 5.0
    assert btc["taker"] == 0.001 and btc["maker"] == 0.0008


def test_loading_markets_fills_the_ccxt_attributes() -> None:
    exchange = PaperExchange()
    exchange.load_markets()
    assert exchange.symbols == sorted(MARKETS)
    assert exchange.markets_by_id["ETHUSDC"][0]["symbol"] == "ETH/USDC"
    assert "SOL" in exchange.currencies
    assert exchange.load_markets() is exchange.markets  # cached, as in ccxt


def test_amounts_are_truncated_and_prices_rounded_as_ccxt_does() -> None:
    exchange = PaperExchange()
    assert exchange.amount_to_precision("BTC/USDT", 0.123456789) == "0.12345"
    assert exchange.amount_to_precision("SOL/USDT", 1.9999) == "1.999"
    assert exchange.price_to_precision("BTC/USDT", 60000.005) == "60000.01"
    assert exchange.price_to_precision("ETH/USDT", 3000.004) == "3000"


def test_an_amount_below_one_step_cannot_be_expressed() -> None:
    with pytest.raises(ccxt.InvalidOrder, match="minimum amount precision"):
        PaperExchange().amount_to_precision("BTC/USDT", 0.000009)


def test_an_unknown_symbol_is_a_bad_symbol() -> None:
    with pytest.raises(ccxt.BadSymbol):
        PaperExchange().market("DOGE/USDT")
