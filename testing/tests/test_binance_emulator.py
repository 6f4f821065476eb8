"""The real ccxt Binance client against the emulator: signing, parsing, errors, limits."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from decimal import Decimal

import ccxt
import pytest

from paper import faults
from paper.clock import ManualClock
from paper.config import PaperConfig
from paper.models import PaperOrder
from testing.binance_emulator import BinanceEmulator, EmulatorKey, binance_client
from testing.threads import run_in_threads

SYMBOL = "BTC/USDT"
LEAN = {"fetchMargins": False, "fetchCurrencies": False}


def price(client: ccxt.binance) -> float:
    return client.fetch_ticker(SYMBOL)["last"]


# --- markets and market data ---------------------------------------------------------
def test_ccxt_reads_the_markets_with_their_precision_and_minimums(binance: ccxt.binance) -> None:
    markets = binance.load_markets()
    btc = markets[SYMBOL]
    assert btc["spot"] and btc["active"]
    assert btc["precision"]["amount"] == 1e-05 and btc["precision"]["price"] == 0.01
    assert btc["limits"]["amount"]["min"] == 1e-05
    assert btc["limits"]["cost"]["min"] == 5.0
    assert {"ETH/USDT", "SOL/USDT", "BTC/USDC", "ETH/USDC"} <= set(markets)


def test_with_keys_load_markets_also_asks_for_currencies_and_margin_pairs_unless_told_not_to(
    binance_emulator: BinanceEmulator, binance_key: EmulatorKey
) -> None:
    # Documents ccxt 4.5.90: fetchMarkets=['spot'] alone still makes three sapi calls.
    binance_client(binance_emulator, binance_key.api_key, binance_key.secret).load_markets()
    assert binance_emulator.request_count(path="/api/v3/exchangeInfo") == 1
    assert binance_emulator.request_count(path="/sapi/v1/capital/config/getall") == 1
    assert binance_emulator.request_count(path="/sapi/v1/margin/allPairs") == 2
    binance_emulator.reset_counters()
    lean = binance_client(binance_emulator, binance_key.api_key, binance_key.secret, options=LEAN)
    lean.load_markets()
    assert dict(binance_emulator.requests) == {"GET /api/v3/exchangeInfo": 1}


def test_exchange_info_publishes_the_rate_limits(binance: ccxt.binance) -> None:
    limits = binance.public_get_exchangeinfo()["rateLimits"]
    by_kind = {(r["rateLimitType"], r["interval"], r["intervalNum"]): r["limit"] for r in limits}
    assert by_kind[("REQUEST_WEIGHT", "MINUTE", 1)] == 6000
    assert by_kind[("ORDERS", "SECOND", 10)] == 50
    assert by_kind[("ORDERS", "DAY", 1)] == 160000


def test_market_data_parses(transactional_db: None) -> None:
    # The engine's clock is pinned so every call below sees the same minute.
    config = PaperConfig(clock=ManualClock(datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC)))
    with BinanceEmulator(config=config) as emulator:
        binance = binance_client(emulator, "", "")  # public endpoints need no key
        ticker = binance.fetch_ticker(SYMBOL)
        assert ticker["low"] <= ticker["last"] <= ticker["high"]
        candles = binance.fetch_ohlcv(SYMBOL, "1h", limit=24)
        assert len(candles) == 24
        assert all(c[3] <= min(c[1], c[4]) and c[2] >= max(c[1], c[4]) for c in candles)
        assert candles[-1][4] == ticker["last"]
        book = binance.fetch_order_book(SYMBOL, limit=5)
        assert book["bids"][0][0] < ticker["last"] < book["asks"][0][0]
        assert binance.fetch_time() > 0
        assert binance.public_get_ping() == {}
        quote = binance.public_get_ticker_price({"symbol": "BTCUSDT"})
        assert float(quote["price"]) == ticker["last"]


# --- orders ----------------------------------------------------------------------------
def test_a_market_order_with_a_client_order_id_fills_and_is_found_by_it(
    binance: ccxt.binance,
) -> None:
    order = binance.create_order(
        SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "bot-1-sig-1"}
    )
    assert order["status"] == "closed" and order["filled"] == 0.001
    assert order["clientOrderId"] == "bot-1-sig-1"
    assert order["fee"]["currency"] == "USDT" and order["fee"]["cost"] > 0
    headers = binance.last_response_headers
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1" and headers["X-MBX-ORDER-COUNT-1D"] == "1"
    found = binance.fetch_order(None, SYMBOL, {"clientOrderId": "bot-1-sig-1"})
    assert found["id"] == order["id"] and found["status"] == "closed"
    balance = binance.fetch_balance()
    assert balance["BTC"]["free"] == 0.001
    (trade,) = binance.fetch_my_trades(SYMBOL)
    assert trade["order"] == order["id"] and trade["takerOrMaker"] == "taker"


def test_a_limit_order_rests_holds_funds_and_cancelling_releases_them(
    binance: ccxt.binance,
) -> None:
    limit = round(price(binance) * 0.9, 2)
    order = binance.create_order(SYMBOL, "limit", "buy", 0.01, limit, {"clientOrderId": "rest-1"})
    assert order["status"] == "open" and order["price"] == limit
    assert binance.fetch_balance()["USDT"]["used"] > 0
    assert [o["clientOrderId"] for o in binance.fetch_open_orders(SYMBOL)] == ["rest-1"]
    canceled = binance.cancel_order(None, SYMBOL, {"clientOrderId": "rest-1"})
    assert canceled["status"] == "canceled"
    assert binance.fetch_balance()["USDT"]["used"] == 0
    assert binance.fetch_order(order["id"], SYMBOL)["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        binance.cancel_order(order["id"], SYMBOL)


def test_a_large_order_shows_partially_filled_then_filled(transactional_db: None) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC))
    config = PaperConfig(clock=clock, max_fill_notional=Decimal(1000))
    with BinanceEmulator(config=config) as emulator:
        key = emulator.add_key()
        client = binance_client(emulator, key.api_key, key.secret, options=LEAN)
        order = client.create_order(SYMBOL, "market", "buy", 0.03, params={"clientOrderId": "big"})
        assert order["info"]["status"] == "PARTIALLY_FILLED"
        assert order["status"] == "open" and 0 < order["filled"] < 0.03
        clock.advance(minutes=2)
        done = client.fetch_order(order["id"], SYMBOL)
        assert done["info"]["status"] == "FILLED"
        assert done["status"] == "closed" and done["filled"] == 0.03
        assert len(client.fetch_my_trades(SYMBOL)) == 2


def test_an_unknown_order_is_not_found(binance: ccxt.binance) -> None:
    with pytest.raises(ccxt.OrderNotFound):
        binance.fetch_order(None, SYMBOL, {"clientOrderId": "never-sent"})


def test_a_market_order_given_a_price_is_sent_as_quote_order_qty(binance: ccxt.binance) -> None:
    last = price(binance)
    order = binance.create_order(SYMBOL, "market", "buy", 0.001, last)
    assert order["status"] == "closed"
    assert order["cost"] <= 0.001 * last
    assert float(order["info"]["origQuoteOrderQty"]) == pytest.approx(0.001 * last, abs=0.01)


def test_insufficient_balance_is_insufficient_funds(binance: ccxt.binance) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        binance.create_order(SYMBOL, "market", "buy", 1)


def test_filter_failures_map_as_on_binance(binance: ccxt.binance) -> None:
    binance.load_markets()
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):  # -1013
        binance.create_order(SYMBOL, "market", "buy", 0.00005)
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):  # not a multiple of the step
        binance.private_post_order({**base, "quantity": "0.000015"})
    with pytest.raises(ccxt.BadRequest, match="-1111"):  # finer than eight places
        binance.private_post_order({**base, "quantity": "0.000000001"})
    limit = {**base, "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        binance.private_post_order({**limit, "price": "50000.005"})
    assert not PaperOrder.objects.exists()


def test_a_client_order_id_is_refused_while_its_order_is_open_and_reusable_once_filled(
    binance: ccxt.binance,
) -> None:
    limit = round(price(binance) * 0.9, 2)
    binance.create_order(SYMBOL, "limit", "buy", 0.001, limit, {"clientOrderId": "same"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        binance.create_order(SYMBOL, "limit", "buy", 0.001, limit, {"clientOrderId": "same"})
    binance.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "filled"})
    # Binance's documented rule: a filled order's client id may be used again.
    again = binance.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "filled"})
    assert again["status"] == "closed"
    assert PaperOrder.objects.filter(client_order_id="filled").count() == 2


# --- authentication --------------------------------------------------------------------
def test_a_bad_signature_is_an_authentication_error(
    binance_emulator: BinanceEmulator, binance_key: EmulatorKey
) -> None:
    forger = binance_client(binance_emulator, binance_key.api_key, "not-the-secret", options=LEAN)
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        forger.fetch_balance()


def test_an_unknown_key_is_an_authentication_error(binance_emulator: BinanceEmulator) -> None:
    stranger = binance_client(binance_emulator, "unknown-key", "whatever", options=LEAN)
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        stranger.fetch_balance()


def test_after_a_successful_private_call_a_revoked_key_raises_ddos_protection(
    binance_emulator: BinanceEmulator, binance: ccxt.binance
) -> None:
    binance.fetch_balance()
    binance_emulator.revoke_key(binance.apiKey)
    with pytest.raises(ccxt.DDoSProtection, match="-2015"):
        binance.fetch_balance()


def test_a_key_without_trade_permission_cannot_place_orders(
    binance_emulator: BinanceEmulator,
) -> None:
    key = binance_emulator.add_key(can_trade=False)
    client = binance_client(binance_emulator, key.api_key, key.secret, options=LEAN)
    client.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        client.create_order(SYMBOL, "market", "buy", 0.001)
    assert client.fetch_balance()["USDT"]["free"] == 10000  # reading is allowed


@pytest.mark.parametrize(
    ("skew_ms", "message"), [(11_000, "outside of the recvWindow"), (-10_000, "ahead")]
)
def test_a_timestamp_out_of_the_window_is_an_invalid_nonce(
    binance_emulator: BinanceEmulator, binance: ccxt.binance, skew_ms: int, message: str
) -> None:
    binance.load_markets()
    binance_emulator.clock_skew_ms = skew_ms
    with pytest.raises(ccxt.InvalidNonce, match=message):
        binance.fetch_balance()


def test_api_restrictions_report_each_keys_permissions(binance_emulator: BinanceEmulator) -> None:
    kinds = {
        "trade_only": binance_emulator.add_key(),
        "withdraw": binance_emulator.add_key(can_withdraw=True),
        "read_only": binance_emulator.add_key(can_trade=False),
        "any_ip": binance_emulator.add_key(ip_restricted=False),
    }
    seen = {
        name: binance_client(
            binance_emulator, k.api_key, k.secret
        ).sapi_get_account_apirestrictions()
        for name, k in kinds.items()
    }
    assert seen["trade_only"]["enableSpotAndMarginTrading"] is True
    assert seen["trade_only"]["enableWithdrawals"] is False
    assert seen["trade_only"]["ipRestrict"] is True
    assert seen["withdraw"]["enableWithdrawals"] is True
    assert seen["read_only"]["enableSpotAndMarginTrading"] is False
    assert seen["any_ip"]["ipRestrict"] is False
    assert {"enableReading", "createTime", "enableInternalTransfer", "enableMargin"} <= set(
        seen["trade_only"]
    )


# --- failures ----------------------------------------------------------------------------
def test_a_429_is_ddos_protection_with_retry_after(
    binance_emulator: BinanceEmulator, binance: ccxt.binance
) -> None:
    binance.load_markets()
    binance_emulator.inject("rate_limit", retry_after=7)
    with pytest.raises(ccxt.DDoSProtection, match="429"):
        binance.fetch_balance()
    assert binance.last_response_headers["Retry-After"] == "7"


def test_a_418_ip_ban_is_ddos_protection(
    binance_emulator: BinanceEmulator, binance: ccxt.binance
) -> None:
    binance.load_markets()
    binance_emulator.inject("ip_ban", retry_after=120)
    with pytest.raises(ccxt.DDoSProtection, match="418") as banned:
        binance.fetch_ticker(SYMBOL)
    assert binance.last_response_headers["Retry-After"] == "120"
    found = re.search(r"IP banned until (\d{13})", str(banned.value))
    assert found, banned.value
    until = int(found.group(1))
    assert until / 1000 == pytest.approx(time.time() + 120, abs=2)


def test_during_a_ban_every_request_is_refused_until_it_ends(
    binance_emulator: BinanceEmulator, binance: ccxt.binance
) -> None:
    binance.load_markets()
    until = binance_emulator.ban_ip(1.2)
    for call in (lambda: binance.fetch_ticker(SYMBOL), binance.fetch_balance):
        with pytest.raises(ccxt.DDoSProtection, match=f"IP banned until {until}"):
            call()
    assert binance_emulator.banned == 2  # requests during a ban count against the client
    time.sleep(max(0.0, until / 1000 - time.time()) + 0.05)
    assert price(binance) > 0


@pytest.mark.parametrize(
    ("kind", "status", "error", "code"),
    [
        ("server_error", 500, ccxt.OperationFailed, "-1000"),
        ("server_error", 503, ccxt.OperationFailed, "-1006"),
        ("backend_timeout", None, ccxt.RequestTimeout, "-1007"),
    ],
)
def test_an_order_with_an_unknown_outcome_is_found_by_client_order_id(
    binance_emulator: BinanceEmulator,
    binance: ccxt.binance,
    kind: str,
    status: int | None,
    error: type[Exception],
    code: str,
) -> None:
    binance.load_markets()
    binance_emulator.inject(kind, status=status, path="/api/v3/order", method="POST", execute=True)
    with pytest.raises(error, match=code):
        binance.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "unsure"})
    assert binance.fetch_order(None, SYMBOL, {"clientOrderId": "unsure"})["status"] == "closed"


def test_a_server_error_before_execution_places_nothing(
    binance_emulator: BinanceEmulator, binance: ccxt.binance
) -> None:
    binance.load_markets()
    binance_emulator.inject("server_error", path="/api/v3/order")
    with pytest.raises(ccxt.OperationFailed):
        binance.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "nope"})
    with pytest.raises(ccxt.OrderNotFound):
        binance.fetch_order(None, SYMBOL, {"clientOrderId": "nope"})


def test_a_connection_dropped_after_the_order_is_a_network_error_and_the_order_exists_once(
    binance_emulator: BinanceEmulator, binance: ccxt.binance
) -> None:
    binance.load_markets()
    binance_emulator.inject("disconnect", path="/api/v3/order", method="POST", execute=True)
    with pytest.raises(ccxt.NetworkError):
        binance.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "dropped"})
    found = binance.fetch_order(None, SYMBOL, {"clientOrderId": "dropped"})
    assert found["status"] == "closed"
    assert PaperOrder.objects.filter(client_order_id="dropped").count() == 1
    assert binance_emulator.request_count("/api/v3/order", "POST") == 1  # nothing retried


def test_paper_faults_armed_for_the_key_apply_over_http(
    binance_emulator: BinanceEmulator, binance: ccxt.binance, binance_key: EmulatorKey
) -> None:
    binance.load_markets()
    faults.inject(binance_key.api_key, "lost_reply", method="create_order")
    with pytest.raises(ccxt.NetworkError):
        binance.create_order(SYMBOL, "market", "buy", 0.001, params={"clientOrderId": "lost"})
    assert binance.fetch_order(None, SYMBOL, {"clientOrderId": "lost"})["filled"] == 0.001
    faults.inject(binance_key.api_key, "timeout", method="fetch_balance")
    with pytest.raises(ccxt.RequestTimeout):
        binance.fetch_balance()


# --- limits and counting -----------------------------------------------------------------
def test_requests_and_weight_are_counted_and_reported(
    binance_emulator: BinanceEmulator, binance_key: EmulatorKey
) -> None:
    client = binance_client(binance_emulator, binance_key.api_key, binance_key.secret, options=LEAN)
    client.load_markets()  # exchangeInfo: 20
    assert client.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "20"
    client.fetch_balance()  # account: 20
    client.create_order(SYMBOL, "market", "buy", 0.001)  # order: 0 since 2026-04-02
    client.fetch_open_orders(SYMBOL)  # openOrders with a symbol: 6
    assert binance_emulator.request_count() == 4
    assert binance_emulator.request_count("/api/v3/order", "POST") == 1
    assert binance_emulator.total_weight == 46
    # 46 unless a minute turned meanwhile (the window is the wall clock's here).
    assert 0 < int(client.last_response_headers["X-MBX-USED-WEIGHT-1M"]) <= 46
    client.sapi_get_account_apirestrictions()
    assert "X-SAPI-USED-IP-WEIGHT-1M" in client.last_response_headers
    binance_emulator.assert_within_limits()


def test_past_the_weight_limit_a_429_then_a_418_ban(
    binance_key: EmulatorKey, transactional_db
) -> None:
    pinned = lambda: 1_700_000_000_000  # noqa: E731 - one minute for the whole test
    with BinanceEmulator(weight_limit=25, ban_after=2, window_clock_ms=pinned) as emulator:
        emulator.keys[binance_key.api_key] = binance_key
        client = binance_client(emulator, binance_key.api_key, binance_key.secret, options=LEAN)
        client.load_markets()  # 20
        client.fetch_ticker(SYMBOL)  # 22
        client.fetch_ticker(SYMBOL)  # 24
        with pytest.raises(ccxt.DDoSProtection, match="429"):
            client.fetch_ticker(SYMBOL)  # 26 > 25
        assert int(client.last_response_headers["Retry-After"]) >= 1
        with pytest.raises(ccxt.DDoSProtection, match="429"):
            client.fetch_ticker(SYMBOL)  # kept going: first violation
        with pytest.raises(ccxt.DDoSProtection, match="418"):
            client.fetch_ticker(SYMBOL)  # second violation: banned
        with pytest.raises(ccxt.DDoSProtection, match="418"):
            client.fetch_ticker(SYMBOL)
        with pytest.raises(AssertionError, match="rate limits exceeded"):
            emulator.assert_within_limits()


def test_past_the_order_limit_a_429_without_retry_after(transactional_db) -> None:
    pinned = lambda: 1_700_000_000_000  # noqa: E731 - one 10 s window for the whole test
    with BinanceEmulator(orders_per_10s=2, window_clock_ms=pinned) as emulator:
        key = emulator.add_key()
        client = binance_client(emulator, key.api_key, key.secret, options=LEAN)
        client.load_markets()
        client.create_order(SYMBOL, "market", "buy", 0.001)
        client.create_order(SYMBOL, "market", "buy", 0.001)
        with pytest.raises(ccxt.DDoSProtection, match="-1015"):
            client.create_order(SYMBOL, "market", "buy", 0.001)
        assert "Retry-After" not in client.last_response_headers


def test_concurrent_clients_are_served_consistently(
    binance_emulator: BinanceEmulator, binance_key: EmulatorKey
) -> None:

    def trade(worker: int) -> None:
        client = binance_client(
            binance_emulator, binance_key.api_key, binance_key.secret, options=LEAN
        )
        for n in range(3):
            client.create_order(
                SYMBOL, "market", "buy", 0.001, params={"clientOrderId": f"w{worker}-{n}"}
            )

    assert run_in_threads(trade, 4) == []
    assert binance_emulator.request_count("/api/v3/order", "POST") == 12
    client = binance_client(binance_emulator, binance_key.api_key, binance_key.secret, options=LEAN)
    assert client.fetch_balance()["BTC"]["total"] == pytest.approx(0.012)
    binance_emulator.assert_within_limits()


def test_an_injected_bad_timestamp_is_an_invalid_nonce_and_places_nothing(
    binance_emulator: BinanceEmulator, binance: ccxt.binance
) -> None:
    binance.load_markets()
    binance_emulator.inject("bad_timestamp", path="/api/v3/order", method="POST")
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        binance.create_order(SYMBOL, "market", "buy", 0.001)
    assert not PaperOrder.objects.exists()
    binance.create_order(SYMBOL, "market", "buy", 0.001)  # only the next request
    assert PaperOrder.objects.count() == 1


def test_latency_delays_every_answer(
    binance_emulator: BinanceEmulator, binance: ccxt.binance
) -> None:
    binance.load_markets()
    binance_emulator.latency_ms = 200
    started = time.monotonic()
    price(binance)
    assert time.monotonic() - started >= 0.2


def test_my_trades_with_an_order_id_lists_that_orders_fills_at_a_quarter_of_the_weight(
    binance_emulator: BinanceEmulator, binance_key: EmulatorKey
) -> None:
    client = binance_client(binance_emulator, binance_key.api_key, binance_key.secret, options=LEAN)
    first = client.create_order(SYMBOL, "market", "buy", 0.001)
    second = client.create_order(SYMBOL, "market", "buy", 0.002)
    assert [t["amount"] for t in first["trades"]] == [0.001]  # FULL reply: fills included
    before = binance_emulator.total_weight
    (trade,) = client.fetch_my_trades(SYMBOL, params={"orderId": second["id"]})
    assert trade["order"] == second["id"] and trade["amount"] == 0.002
    assert binance_emulator.total_weight - before == 5
    assert len(client.fetch_my_trades(SYMBOL)) == 2
