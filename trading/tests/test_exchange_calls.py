"""The exchange call layer against the Binance emulator, through the real ccxt client.

Bans and Retry-After are shared by every process: the tests that say so start a
second, real process (``manage.py shell -c``) on the test database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ccxt
import pytest
from django.core.cache import cache

from paper.models import PaperOrder
from testing.binance_emulator import BinanceEmulator, EmulatorKey
from trading import market_cache
from trading.exchange_calls import (
    RateLimited,
    call,
    ip_key,
    request_weight,
    retry_after_of,
    weight_budget,
    with_limits,
)
from trading.limits import block, blocked_for, spent, unblock
from trading.market_cache import ticker_snapshot
from trading.tests.processes import database_env
from vault.clients import KeyMaterial, build_client, public_client

ROOT = Path(__file__).resolve().parents[2]
SYMBOL = "BTC/USDT"


@pytest.fixture
def emulator(transactional_db: None, settings) -> Iterator[BinanceEmulator]:
    """A running emulator that ``vault.clients`` routes Binance to, with no ban left over."""
    unblock(ip_key("binance"))  # Redis keeps blocks between tests
    market_cache.forget("binance", markets=[SYMBOL])
    with BinanceEmulator() as running:
        settings.EXCHANGE_URL_OVERRIDES = {"binance": running.url}
        yield running
    unblock(ip_key("binance"))


@pytest.fixture
def no_published_limits() -> Iterator[None]:
    cache.delete("published-limits:binance")  # the cache outlives transactional tests
    yield
    cache.delete("published-limits:binance")


@pytest.fixture
def key(emulator: BinanceEmulator) -> EmulatorKey:
    return emulator.add_key()


def keyed_client(key: EmulatorKey) -> ccxt.binance:
    """The production client (``vault.clients``) for an emulator key."""
    return build_client("binance", KeyMaterial(api_key=key.api_key, secret=key.secret))


@pytest.fixture
def client(key: EmulatorKey) -> ccxt.binance:
    """A keyed client that has made one request: markets and clock set."""
    ready = keyed_client(key)
    call(ready, "binance", "fetch_balance")
    return ready


def start_process(code: str, emulator: BinanceEmulator, **env: str) -> subprocess.Popen:
    """A second worker process on the test database, routed to ``emulator``."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            **database_env(),
            "EXCHANGE_URL_OVERRIDES": json.dumps({"binance": emulator.url}),
            "DJANGO_SETTINGS_MODULE": "oneclick.settings",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def last_json_line(process: subprocess.Popen, timeout: float = 60) -> dict:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


# A worker that asks for a ticker until it gets one (or gives up), as a task would.
TICKER_WORKER = """
import json, time
from trading import market_cache
from trading.exchange_calls import RateLimited, call
from vault.clients import public_client
client = public_client("binance")
refusals, first_wait, deadline = 0, None, time.time() + float({give_up})
while True:
    try:
        call(client, "binance", "fetch_ticker", "BTC/USDT")
        print(json.dumps({{"done_at": time.time(), "refusals": refusals, "first_wait": first_wait}}))
        break
    except RateLimited as exc:
        refusals += 1
        first_wait = exc.retry_after if first_wait is None else first_wait
        if time.time() + min(exc.retry_after, 0.2) > deadline:
            print(json.dumps({{"done_at": None, "refusals": refusals, "first_wait": first_wait}}))
            break
        time.sleep(min(exc.retry_after, 0.2))
"""


# --- 429 and 418: the exchange's word on how long to wait ---------------------------------
def test_a_429_blocks_for_the_retry_after_the_exchange_sent_not_a_minute(
    emulator: BinanceEmulator, client: ccxt.binance
) -> None:
    emulator.inject("rate_limit", retry_after=5)
    with pytest.raises(RateLimited) as refused:
        call(client, "binance", "fetch_balance")
    assert refused.value.retry_after == pytest.approx(5, abs=0.5)
    now = time.time()
    assert 4 < blocked_for(ip_key("binance"), now=now) <= 5
    assert blocked_for(ip_key("binance"), now=now + 5.1) == 0
    sent = emulator.request_count()
    with pytest.raises(RateLimited):
        call(client, "binance", "fetch_balance")
    assert emulator.request_count() == sent  # nothing goes out while blocked


def test_a_long_ip_ban_stops_every_process_for_as_long_as_binance_said(
    emulator: BinanceEmulator,
) -> None:
    three_days = 3 * 86400  # Binance bans for up to 3 days, doubling per repeat
    emulator.inject("ip_ban", path="/api/v3/ticker/24hr", retry_after=three_days)
    client = public_client("binance")
    with pytest.raises(RateLimited) as refused:
        call(client, "binance", "fetch_ticker", SYMBOL)
    assert refused.value.retry_after == pytest.approx(three_days, abs=5)
    sent = emulator.request_count()
    other = start_process(TICKER_WORKER.format(give_up=0), emulator)
    seen = last_json_line(other)
    assert seen["done_at"] is None
    assert seen["first_wait"] == pytest.approx(three_days, abs=60)
    assert emulator.request_count() == sent  # the other process sent nothing
    assert emulator.banned == 0  # and no request arrived during the ban


def test_a_short_ip_ban_ends_when_binance_said_for_every_process(
    emulator: BinanceEmulator,
) -> None:
    client = public_client("binance")
    call(client, "binance", "fetch_ticker", SYMBOL)  # markets and clock ready
    emulator.inject("ip_ban", retry_after=3)
    with pytest.raises(RateLimited) as refused:
        call(client, "binance", "fetch_ticker", SYMBOL)
    ban_ends = time.time() + refused.value.retry_after
    assert refused.value.retry_after == pytest.approx(3, abs=0.5)
    other = start_process(TICKER_WORKER.format(give_up=20), emulator)
    seen = last_json_line(other)
    assert seen["done_at"] is not None, "the other process was still refused after the ban"
    assert seen["done_at"] >= ban_ends - 0.1
    assert seen["done_at"] < ban_ends + 10  # not the default 10 minutes
    assert emulator.banned == 0  # no request went out during the ban


def test_the_end_of_a_ban_in_the_reply_wins_over_a_shorter_retry_after() -> None:
    now = 1_700_000_000.0
    reply = SimpleNamespace(
        last_response_headers={"retry-after": "120"},
        last_http_response="",
        options={"timeDifference": 0},
    )
    exc = ccxt.DDoSProtection(
        'binance 418 I\'m a teapot {"code":-1003,"msg":"Way too much request weight used; '
        f'IP banned until {int((now + 7200) * 1000)}. Please use WebSocket Streams."}}'
    )
    assert retry_after_of(exc, reply, now=now) == pytest.approx(7200)
    # Our clock 2 s ahead of Binance's: the ban ends 2 s later by ours.
    reply.options["timeDifference"] = 2000
    assert retry_after_of(exc, reply, now=now) == pytest.approx(7202)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("5", 5.0), ("Thu, 01 Jan 2026 00:00:30 GMT", 30.0), ("soon", None), (None, None)],
)
def test_retry_after_is_read_in_seconds_or_as_a_date(header, expected) -> None:
    now = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
    headers = {} if header is None else {"Retry-After": header}
    reply = SimpleNamespace(last_response_headers=headers, last_http_response="", options={})
    exc = ccxt.DDoSProtection('binance 429 Too Many Requests {"code":-1003,"msg":"Too many."}')
    assert retry_after_of(exc, reply, now=now) == expected


def test_an_account_order_limit_pauses_that_accounts_orders_not_our_ip(
    transactional_db: None, settings, no_published_limits: None
) -> None:
    pinned = lambda: 1_700_000_000_000  # noqa: E731 - one 10 s window for the whole test
    unblock(ip_key("binance"))
    # Our budgets allow more than this account may place (e.g. a sub-account's lower limit).
    cache.set(
        "published-limits:binance",
        {"weight_per_minute": 6000, "orders_per_10s": 50, "orders_per_day": 160_000},
        60,
    )
    with BinanceEmulator(orders_per_10s=1, window_clock_ms=pinned) as emulator:
        settings.EXCHANGE_URL_OVERRIDES = {"binance": emulator.url}
        key = emulator.add_key()
        client = keyed_client(key)
        account = uuid.uuid4().hex  # Redis keeps blocks between tests
        call(client, "binance", "create_order", SYMBOL, "market", "buy", 0.001,
             credential_id=account)  # fmt: skip
        with pytest.raises(RateLimited, match="order limit"):
            call(client, "binance", "create_order", SYMBOL, "market", "buy", 0.001,
                 credential_id=account)  # fmt: skip
        sent = emulator.request_count()
        with pytest.raises(RateLimited, match="order limit"):
            call(client, "binance", "create_order", SYMBOL, "market", "buy", 0.001,
                 credential_id=account)  # fmt: skip
        assert emulator.request_count() == sent  # paused without asking
        assert blocked_for(ip_key("binance")) == 0
        call(client, "binance", "fetch_balance", credential_id=account)  # reading goes on


# --- clock skew: Binance -1021 ------------------------------------------------------------
def test_a_server_clock_far_from_ours_is_measured_once_and_shared(
    emulator: BinanceEmulator, key: EmulatorKey
) -> None:
    emulator.clock_skew_ms = 30_000  # our timestamps 30 s behind: outside recvWindow
    assert call(keyed_client(key), "binance", "fetch_balance")["USDT"]["free"] > 0
    assert call(keyed_client(key), "binance", "fetch_balance")["USDT"]["free"] > 0
    assert emulator.request_count(path="/api/v3/time") == 1  # measured once, then shared
    assert emulator.request_count(path="/api/v3/account") == 2


def test_a_clock_jump_after_the_sync_resyncs_and_retries_once(
    emulator: BinanceEmulator, key: EmulatorKey, client: ccxt.binance
) -> None:
    emulator.clock_skew_ms = -20_000  # our timestamps now 20 s ahead of the server's
    assert call(client, "binance", "fetch_balance")["USDT"]["free"] > 0
    assert emulator.request_count(path="/api/v3/account") == 3  # ok, refused, retried
    assert emulator.request_count(path="/api/v3/time") == 2
    # The new offset is shared: another client is right the first time.
    call(keyed_client(key), "binance", "fetch_balance")
    assert emulator.request_count(path="/api/v3/account") == 4


def test_an_order_refused_for_its_timestamp_is_placed_once_after_the_resync(
    emulator: BinanceEmulator, client: ccxt.binance
) -> None:
    emulator.clock_skew_ms = 25_000
    order = call(
        client, "binance", "create_order", SYMBOL, "market", "buy", 0.001, None,
        {"clientOrderId": "x-once"}, credential_id=uuid.uuid4().hex,
    )  # fmt: skip
    assert order["clientOrderId"] == "x-once"
    assert emulator.request_count(path="/api/v3/order", method="POST") == 2
    assert PaperOrder.objects.filter(client_order_id="x-once").count() == 1


def test_a_timestamp_refused_again_after_the_resync_is_an_invalid_nonce(
    emulator: BinanceEmulator, client: ccxt.binance
) -> None:
    emulator.inject("bad_timestamp", path="/api/v3/order", method="POST", times=2)
    with pytest.raises(ccxt.InvalidNonce):
        call(client, "binance", "create_order", SYMBOL, "market", "buy", 0.001)
    assert emulator.request_count(path="/api/v3/order", method="POST") == 2  # one retry only
    assert emulator.request_count(path="/api/v3/time") == 2
    assert not PaperOrder.objects.exists()


# --- markets once per exchange, every request counted --------------------------------------
MARKETS_WORKER = """
import json, os, time
from trading.exchange_calls import with_limits
from vault.clients import KeyMaterial, build_client
time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))  # both at once
for _ in range(3):  # three tasks, each with a fresh client, as django-q runs them
    client = build_client("binance", KeyMaterial(api_key=os.environ["K"], secret=os.environ["S"]))
    api = with_limits(client, "binance", "c")
    markets = api("load_markets")
    api("fetch_ticker", "BTC/USDT")
    api("fetch_balance")
print(json.dumps({"step": markets["BTC/USDT"]["precision"]["amount"]}))
"""


def test_tasks_in_two_processes_download_the_markets_once(
    emulator: BinanceEmulator, key: EmulatorKey, no_published_limits: None
) -> None:
    emulator.latency_ms = 300  # a download long enough for the two to overlap
    env = {"K": key.api_key, "S": key.secret, "START_AT": str(time.time() + 4)}
    workers = [start_process(MARKETS_WORKER, emulator, **env) for _ in range(2)]
    steps = [last_json_line(worker)["step"] for worker in workers]
    for _ in range(3):  # and tasks of this process
        api = with_limits(keyed_client(key), "binance", "c")
        assert api("load_markets")["BTC/USDT"]["precision"]["amount"] == 1e-05
        api("fetch_ticker", SYMBOL)
    assert steps == [1e-05, 1e-05]
    assert emulator.request_count(path="/api/v3/exchangeInfo") == 1
    assert emulator.request_count(path="/api/v3/ticker/24hr") == 9
    assert emulator.unknown_endpoints == []
    assert not [name for name in emulator.requests if "/sapi/" in name]  # spot only


def test_the_markets_are_downloaded_again_once_the_shared_copy_expires(
    emulator: BinanceEmulator, no_published_limits: None
) -> None:
    call(public_client("binance"), "binance", "fetch_ticker", SYMBOL)
    cache.delete("markets:binance:stamp")  # what the hourly expiry does
    for _ in range(2):
        call(public_client("binance"), "binance", "fetch_ticker", SYMBOL)
    assert emulator.request_count(path="/api/v3/exchangeInfo") == 2


def test_published_limits_come_with_the_markets(
    transactional_db: None, settings, no_published_limits: None
) -> None:
    market_cache.forget("binance")
    with BinanceEmulator(weight_limit=1200, orders_per_10s=7) as emulator:
        settings.EXCHANGE_URL_OVERRIDES = {"binance": emulator.url}
        with_limits(public_client("binance"), "binance", "c")
        with_limits(public_client("binance"), "binance", "c")
        assert emulator.request_count(path="/api/v3/exchangeInfo") == 1
    assert weight_budget("binance").limit == 1200
    market_cache.forget("binance")


def test_every_request_is_counted_at_binances_weight_markets_and_clock_included(
    emulator: BinanceEmulator, key: EmulatorKey, no_published_limits: None, monkeypatch
) -> None:
    # The exchange's own count (X-MBX-USED-WEIGHT-1M) would hide an undercount.
    monkeypatch.setattr("trading.exchange_calls.observe_usages", lambda *a, **k: None)
    budget = weight_budget("binance")
    before = spent(budget)
    api = with_limits(keyed_client(key), "binance", "c")  # exchangeInfo 20
    api("fetch_balance")  # time 1 + account 20
    order = api("create_order", SYMBOL, "market", "buy", 0.001)  # 0 since 2026-04-02
    api("fetch_order", order["id"], SYMBOL)  # 4
    api("fetch_my_trades", SYMBOL, None, None, {"orderId": order["id"]})  # 5, not 20
    api("fetch_ticker", SYMBOL)  # 2
    assert spent(budget) - before == emulator.total_weight == 52


def test_an_order_weighs_nothing_but_still_counts_in_the_accounts_order_budget(
    emulator: BinanceEmulator, key: EmulatorKey, no_published_limits: None
) -> None:
    cache.set(
        "published-limits:binance",
        # The day's budget: a 10 s window could turn between two orders.
        {"weight_per_minute": 6000, "orders_per_10s": 50, "orders_per_day": 2},
        60,
    )
    account = uuid.uuid4().hex
    api = with_limits(keyed_client(key), "binance", account)
    for _ in range(2):
        api("create_order", SYMBOL, "market", "buy", 0.001)
    with pytest.raises(RateLimited, match="order budget"):
        api("create_order", SYMBOL, "market", "buy", 0.001)
    assert emulator.request_count(path="/api/v3/order", method="POST") <= 2


def test_an_order_request_checks_bans_and_budgets_in_one_round_trip(
    emulator: BinanceEmulator, client: ccxt.binance, no_published_limits: None, monkeypatch
) -> None:
    # With Redis: bans and budgets in one script, and the exchange's counts (no higher
    # than ours) not written back. Before, 4 round trips: MGET, spend, SCRIPT EXISTS, raise.
    from trading import limits

    calls: list[str] = []

    def recording(name: str, real: Any) -> Any:
        def call_and_record(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return call_and_record

    for name in ("spend_all", "blocked_until_all", "raise_all", "spend_all_unless_blocked"):
        monkeypatch.setattr(limits.store, name, recording(name, getattr(limits.store, name)))
    call(client, "binance", "create_order", SYMBOL, "market", "buy", 0.001, credential_id="c")
    if isinstance(getattr(limits.store, "_wrapped", None), limits.RedisWindows):
        assert calls == ["spend_all_unless_blocked"]
    else:  # the embedded store reads the bans, spends and writes what the exchange counted
        assert calls[0] == "spend_all_unless_blocked" and "raise_all" in calls
    # A ban still stops the request before anything is spent or sent.
    block(ip_key("binance"), seconds=30)
    sent = emulator.request_count(path="/api/v3/order", method="POST")
    with pytest.raises(RateLimited, match="slow down or banned"):
        call(client, "binance", "create_order", SYMBOL, "market", "buy", 0.001, credential_id="c")
    assert emulator.request_count(path="/api/v3/order", method="POST") == sent


@pytest.mark.parametrize(
    ("exchange_id", "method", "args", "kwargs", "weight"),
    [
        ("binance", "fetch_my_trades", ("BTC/USDT", None, None, {"orderId": "1"}), {}, 5),
        ("binance", "fetch_my_trades", ("BTC/USDT",), {"params": {"orderId": "1"}}, 5),
        ("binance", "fetch_my_trades", ("BTC/USDT",), {}, 20),
        ("binance", "create_order", ("BTC/USDT", "market", "buy", 1), {}, 0),
        ("kraken", "create_order", ("BTC/USDT", "market", "buy", 1), {}, 1),
        ("binance", "fetch_open_orders", ("BTC/USDT",), {}, 6),
        ("binance", "fetch_open_orders", (), {}, 80),
        ("binance", "fetch_markets", (), {}, 20),
        ("binance", "load_time_difference", (), {}, 1),
    ],
)
def test_request_weights_follow_binance_and_their_parameters(
    exchange_id, method, args, kwargs, weight
) -> None:
    assert request_weight(exchange_id, method, args, kwargs) == weight


# --- one price snapshot per (exchange, market) ----------------------------------------------
SNAPSHOT_WORKER = """
import json, os, time
from trading.market_cache import ticker_snapshot
from trading.tests.processes import database_env
from trading.tests.processes import database_env
time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))  # both at once
lasts = [ticker_snapshot("binance", "BTC/USDT", 30)["last"] for _ in range(3)]
print(json.dumps({"lasts": lasts}))
"""


def test_one_ticker_serves_every_bot_of_a_signal_across_processes(
    emulator: BinanceEmulator, key: EmulatorKey
) -> None:
    call(public_client("binance"), "binance", "fetch_time")  # markets and clock ready
    start_at = str(time.time() + 4)  # after both processes have started Django
    workers = [start_process(SNAPSHOT_WORKER, emulator, START_AT=start_at) for _ in range(2)]
    seen = [last_json_line(worker)["lasts"] for worker in workers]
    here = [ticker_snapshot("binance", SYMBOL, 30, client=keyed_client(key))["last"]
            for _ in range(3)]  # fmt: skip
    assert emulator.request_count(path="/api/v3/ticker/24hr") == 1
    assert len({*seen[0], *seen[1], *here}) == 1


def test_a_snapshot_older_than_asked_for_is_fetched_again(emulator: BinanceEmulator) -> None:
    ticker_snapshot("binance", SYMBOL, 30)
    ticker_snapshot("binance", SYMBOL, 30)
    assert emulator.request_count(path="/api/v3/ticker/24hr") == 1
    time.sleep(0.05)
    ticker_snapshot("binance", SYMBOL, 0.01)
    assert emulator.request_count(path="/api/v3/ticker/24hr") == 2


def test_during_a_ban_no_ticker_is_asked_for_and_none_too_old_is_given(
    emulator: BinanceEmulator,
) -> None:
    first = ticker_snapshot("binance", SYMBOL, 30)
    block(ip_key("binance"), seconds=60)
    assert ticker_snapshot("binance", SYMBOL, 30) == first  # fresh enough: no request
    time.sleep(0.05)
    sent = emulator.request_count()
    with pytest.raises(RateLimited):
        ticker_snapshot("binance", SYMBOL, 0.01)
    assert emulator.request_count() == sent


def test_the_paper_exchange_has_snapshots_too(db: None) -> None:
    market_cache.forget("paper", markets=[SYMBOL])
    ticker = ticker_snapshot("paper", SYMBOL, 5)
    assert ticker["last"] > 0
    assert ticker_snapshot("paper", SYMBOL, 5) == ticker
    market_cache.forget("paper", markets=[SYMBOL])
