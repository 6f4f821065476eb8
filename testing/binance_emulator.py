"""A Binance-compatible spot REST endpoint on 127.0.0.1, for tests.

The real ``ccxt.binance`` client is pointed at it (``binance_client``), so
request signing, response parsing, error mapping and rate-limit headers are
exercised through ccxt itself. Trading is done by the paper engine
(``paper``), so the emulator needs the test database with real commits
(pytest-django's ``transactional_db``): it answers from its own threads.

What it checks and sends, as Binance does:
- HMAC-SHA256 signatures over query string + body (-1022), known and permitted
  API keys (-2015), ``timestamp``/``recvWindow`` (-1021);
- request weight per minute (``X-MBX-USED-WEIGHT-1M``; 429 with ``Retry-After``
  past the limit, 418 for clients that keep going), orders per 10 s and per day
  per account (``X-MBX-ORDER-COUNT-10S`` / ``-1D``; 429 -1015);
- an IP ban answers every request with 418, ``Retry-After`` and "IP banned until
  <ms>" in the message until it ends, and bans grow for repeat offenders;
- Binance's error codes and messages for filters, balances, duplicates and
  unknown orders; a client order id may be reused once its order is filled.

Faults for tests: ``inject()`` answers the next matching requests with a 429,
an IP ban (418, then every request until it ends), 5xx, -1007, -1021 or a
dropped connection, optionally after executing the request; ``ban_ip()`` starts
a ban at once, ``clock_skew_ms`` moves the server clock (-1021 outside
``recvWindow``) and ``latency_ms`` delays every answer; ``tamper()`` rewrites the
body of the next answers to a path (odd replies: fields missing, NaN, words);
faults armed with ``paper.faults.inject`` for a key are honoured too (timeout →
-1007, lost_reply → connection dropped after the order).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import ccxt
from django.db import connections

from paper import faults as paper_faults
from paper import prices
from paper.config import PaperConfig
from paper.engine import Desk, open_desk
from paper.models import PaperFault
from testing import binance_wire as wire
from testing.binance_endpoints import (
    ROUTES,
    ApiError,
    Call,
    EmulatorKey,
    Endpoint,
    Raw,
    Reply,
)

HOST = "127.0.0.1"
DEFAULT_RECV_WINDOW = 5_000
MAX_RECV_WINDOW = 60_000

HTTP_FAULTS = (
    "rate_limit",
    "ip_ban",
    "server_error",
    "backend_timeout",
    "bad_timestamp",
    "disconnect",
)
MSG_TIMEOUT = (
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown."
)
MSG_UNKNOWN = "An unknown error occurred while processing the request."
MSG_BUS = "An unexpected response was received from the message bus. Execution status unknown."
MSG_BAD_KEY = "Invalid API-key, IP, or permissions for action."
MSG_OUTSIDE_WINDOW = "Timestamp for this request is outside of the recvWindow."

__all__ = ["BinanceEmulator", "EmulatorKey", "binance_client"]


@dataclass
class Tamper:
    """Rewrites the body of the next ``remaining`` successful answers to one path."""

    path: str
    method: str | None
    rewrite: Callable[[Any], Any]
    remaining: int


@dataclass
class HttpFault:
    kind: str
    path: str | None
    method: str | None
    remaining: int
    retry_after: int | None
    status: int | None
    execute: bool

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path == path) and (
            self.method is None or self.method == method
        )


class BinanceEmulator:
    """A Binance spot REST endpoint in a background thread; see the module docstring."""

    def __init__(
        self,
        *,
        config: PaperConfig | None = None,
        weight_limit: int = 6_000,
        orders_per_10s: int = 50,
        orders_per_day: int = 160_000,
        ban_after: int = 3,
        ban_seconds: int = 120,
        window_clock_ms: Callable[[], int] | None = None,
    ) -> None:
        base = config or PaperConfig.from_settings()
        # Binance takes a reused client order id once its order is filled; the
        # emulator's own limits replace the paper per-account request limit.
        self.config = dataclasses.replace(
            base, reuse_client_order_id_after_fill=True, rate_limit_per_minute=None
        )
        self.weight_limit = weight_limit
        self.orders_per_10s = orders_per_10s
        self.orders_per_day = orders_per_day
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        # Milliseconds the server clock runs ahead of the machine's (negative: behind).
        self.clock_skew_ms = 0
        # Milliseconds each answer takes, as over a real network (requests overlap).
        self.latency_ms = 0
        # What the limit windows (minute, 10 s, day) are cut from; a test can pin it
        # so a window boundary never falls in the middle of an assertion.
        self.window_clock_ms = window_clock_ms or self.server_time_ms
        self.keys: dict[str, EmulatorKey] = {}
        self._faults: list[HttpFault] = []
        self._tampers: list[Tamper] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: list[ccxt.Exchange] = []
        self.reset_counters()

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> BinanceEmulator:
        server = ThreadingHTTPServer((HOST, 0), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="binance-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        for client in self._clients:
            client.session.close()  # lets keep-alive handler threads end
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> BinanceEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return f"http://{HOST}:{self._server.server_address[1]}"

    def rebase(self, url: str) -> str:
        """The same API path on the emulator instead of Binance's host."""
        parts, here = urlsplit(url), urlsplit(self.url)
        return urlunsplit((here.scheme, here.netloc, parts.path, parts.query, ""))

    def track(self, client: ccxt.Exchange) -> None:
        self._clients.append(client)

    # --- keys and faults -------------------------------------------------------------
    def add_key(
        self,
        api_key: str | None = None,
        secret: str | None = None,
        *,
        can_trade: bool = True,
        can_read: bool = True,
        can_withdraw: bool = False,
        ip_restricted: bool = True,
        trading_expires_ms: int | None = None,
    ) -> EmulatorKey:
        """Register a key (random by default); its paper account opens on first use."""
        key = EmulatorKey(
            api_key=api_key or secrets.token_hex(32),
            secret=secret or secrets.token_hex(32),
            can_trade=can_trade,
            can_read=can_read,
            can_withdraw=can_withdraw,
            ip_restricted=ip_restricted,
            trading_expires_ms=trading_expires_ms,
        )
        with self._lock:
            self.keys[key.api_key] = key
        return key

    def revoke_key(self, api_key: str) -> None:
        with self._lock:
            self.keys[api_key].revoked = True

    def inject(
        self,
        kind: str,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int = 1,
        retry_after: int | None = None,
        status: int | None = None,
        execute: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with a failure.

        kinds: ``rate_limit`` (429 -1003, ``Retry-After: retry_after``), ``ip_ban``
        (418 -1003 "IP banned until <ms>", ``Retry-After``; the IP stays banned for
        ``retry_after`` seconds, as after ``ban_ip``), ``server_error`` (500 -1000,
        or 503 -1006 with ``status=503``), ``backend_timeout`` (503 -1007),
        ``bad_timestamp`` (400 -1021, nothing done), ``disconnect`` (connection
        closed, no answer).
        ``execute=True`` carries the request out first (the order exists, the
        client cannot know). ``path`` is e.g. ``"/api/v3/order"``.
        """
        if kind not in HTTP_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(HTTP_FAULTS)}")
        with self._lock:
            self._faults.append(HttpFault(kind, path, method, times, retry_after, status, execute))

    def tamper(
        self,
        path: str,
        rewrite: Callable[[Any], Any],
        *,
        method: str | None = None,
        times: int = 1,
    ) -> None:
        """Carry out the next ``times`` matching requests, then answer with
        ``rewrite(body)`` instead of the body: odd exchange replies (fields missing,
        strings for numbers, negative amounts, NaN) parsed by ccxt itself. A ``Raw``
        answer is sent as it is, with its own status (an HTML 502 page, cut-off JSON).
        A body may hold ``float("nan")``/``float("inf")``: sent as ``NaN``/``Infinity``.
        """
        with self._lock:
            self._tampers.append(Tamper(path, method, rewrite, times))

    def _take_tamper(self, method: str, path: str) -> Tamper | None:
        for tamper in self._tampers:
            if tamper.path == path and tamper.method in (None, method) and tamper.remaining:
                tamper.remaining -= 1
                return tamper
        return None

    def ban_ip(self, seconds: float) -> int:
        """Ban our IP for ``seconds`` from now, as Binance does; returns the end (server ms).

        Every request in the ban is answered 418 and counted in ``banned``.
        """
        with self._lock:
            self._banned_until_ms = self.server_time_ms() + int(seconds * 1000)
            return self._banned_until_ms

    def lift_ban(self) -> None:
        with self._lock:
            self._banned_until_ms = 0

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._tampers.clear()

    # --- counters --------------------------------------------------------------------
    def reset_counters(self) -> None:
        """Forget traffic, limit windows and bans."""
        self.requests: Counter[str] = Counter()
        self.total_weight = 0
        self.peak_weight_1m = 0
        self.rate_limited = 0  # 429s from the emulator's own limits
        self.banned = 0  # 418s from the emulator's own ban
        self.unknown_endpoints: list[str] = []
        self._weight: dict[tuple[str, int], int] = {}
        self._orders: Counter[tuple[str, str, int]] = Counter()
        self._backoff_until_ms = 0
        self._violations = 0
        self._banned_until_ms = 0
        self._next_ban_seconds = self.ban_seconds

    def request_count(self, path: str | None = None, method: str | None = None) -> int:
        return sum(
            count
            for name, count in self.requests.items()
            if (method is None or name.split(" ")[0] == method)
            and (path is None or name.split(" ")[1] == path)
        )

    def assert_within_limits(self) -> None:
        """Fail if any client ever crossed a limit (429 or 418 from the emulator itself)."""
        if self.rate_limited or self.banned or self.peak_weight_1m > self.weight_limit:
            raise AssertionError(
                f"rate limits exceeded: {self.rate_limited} x 429, {self.banned} x 418, "
                f"peak weight {self.peak_weight_1m}/{self.weight_limit} per minute"
            )

    def server_time_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_skew_ms

    # --- request handling ------------------------------------------------------------
    def handle(self, method: str, target: str, body: str, headers: dict[str, str]) -> Reply:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        try:
            with self._lock:
                return self._handle(method, target, body, headers)
        finally:
            # Each request runs in its own thread with its own connection: close it,
            # or the test database could not be dropped at the end of the run.
            connections.close_all()

    def _handle(self, method: str, target: str, body: str, headers: dict[str, str]) -> Reply:
        path, _, query = target.partition("?")
        self.requests[f"{method} {path}"] += 1
        now = self.window_clock_ms()
        weight_headers: dict[str, str] = {}
        try:
            endpoint = ROUTES.get((method, path))
            if endpoint is None:
                self.unknown_endpoints.append(f"{method} {path}")
                raise ApiError(404, -1000, f"{method} {path} is not emulated.")
            # Query string parameters win over body ones, as on Binance.
            params = {
                **dict(parse_qsl(body, keep_blank_values=True)),
                **dict(parse_qsl(query, keep_blank_values=True)),
            }
            weight_headers = self._charge_weight(endpoint, params, now)
            fault = self._take_fault(method, path)
            if fault is not None and fault.kind == "ip_ban":
                self._banned_until_ms = self.server_time_ms() + (fault.retry_after or 10) * 1000
            if fault is not None and not fault.execute:
                return self._fault_reply(fault, weight_headers)
            call = Call(method, path, params, query, body, headers.get("X-MBX-APIKEY"))
            key = self._authenticate(call, endpoint) if endpoint.signed else None
            paper_fault = (
                paper_faults.take(key.api_key, endpoint.paper_method)
                if key is not None and endpoint.paper_method
                else None
            )
            if paper_fault is not None and paper_fault.kind != PaperFault.Kind.LOST_REPLY:
                return self._paper_fault_reply(paper_fault, weight_headers)
            extra: dict[str, str] = {}
            if method == "POST" and path == "/api/v3/order" and key is not None:
                extra = self._count_order(key, now)
            answer = endpoint.handler(self, call, key)
            if fault is not None:
                return self._fault_reply(fault, weight_headers)
            if paper_fault is not None:
                return Reply(0, None, drop=True)
            tamper = self._take_tamper(method, path)
            if tamper is not None:
                answer = tamper.rewrite(answer)
            if isinstance(answer, Raw):
                return Reply(answer.status, answer, {**weight_headers, **extra})
            return Reply(200, answer, {**weight_headers, **extra})
        except ApiError as error:
            error.reply.headers = {**weight_headers, **error.reply.headers}
            return error.reply

    def _charge_weight(
        self, endpoint: Endpoint, params: dict[str, str], now: int
    ) -> dict[str, str]:
        minute = now // 60_000
        weight = endpoint.weight(params)
        if endpoint.sapi:
            used = self._weight.get(("sapi", minute), 0) + weight
            self._weight[("sapi", minute)] = used
            return {"X-SAPI-USED-IP-WEIGHT-1M": str(used)}
        if self.server_time_ms() < self._banned_until_ms:
            self.banned += 1  # a request during a ban: Binance makes the next ban longer
            self._ban_error()
        if now < self._backoff_until_ms:
            self._violations += 1
            if self._violations >= self.ban_after:
                self._banned_until_ms = self.server_time_ms() + self._next_ban_seconds * 1000
                self._next_ban_seconds *= 2  # bans grow for repeat offenders
                self.banned += 1
                self._ban_error()
        used = self._weight.get(("api", minute), 0) + weight
        self._weight[("api", minute)] = used
        self.total_weight += weight
        self.peak_weight_1m = max(self.peak_weight_1m, used)
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if used > self.weight_limit:
            self.rate_limited += 1
            self._backoff_until_ms = (minute + 1) * 60_000
            raise ApiError(
                429,
                -1003,
                f"Too much request weight used; current limit is {self.weight_limit} request "
                "weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
                "polling the API.",
                {**headers, "Retry-After": str(max(1, (self._backoff_until_ms - now) // 1000))},
            )
        return headers

    def _ban_error(self) -> None:
        raise ApiError(*self._ban_answer())

    def _ban_answer(self) -> tuple[int, int, str, dict[str, str]]:
        # Binance's words: the end of the ban in the message, seconds left in Retry-After.
        left_ms = self._banned_until_ms - self.server_time_ms()
        return (
            418,
            -1003,
            f"Way too much request weight used; IP banned until {self._banned_until_ms}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            {"Retry-After": str(max(1, -(-left_ms // 1000)))},
        )

    def _take_fault(self, method: str, path: str) -> HttpFault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_reply(self, fault: HttpFault, headers: dict[str, str]) -> Reply:
        retry = {"Retry-After": str(fault.retry_after or 10)}
        if fault.kind == "disconnect":
            return Reply(0, None, drop=True)
        if fault.kind == "rate_limit":
            return Reply(
                429,
                wire.error(-1003, "Too many requests; please use the websocket for live updates."),
                {**headers, **retry},
            )
        if fault.kind == "ip_ban":
            status, code, message, ban_headers = self._ban_answer()
            return Reply(status, wire.error(code, message), {**headers, **ban_headers})
        if fault.kind == "bad_timestamp":
            return Reply(400, wire.error(-1021, MSG_OUTSIDE_WINDOW), headers)
        if fault.kind == "backend_timeout":
            return Reply(fault.status or 503, wire.error(-1007, MSG_TIMEOUT), headers)
        if (fault.status or 500) == 503:
            return Reply(503, wire.error(-1006, MSG_BUS), headers)
        return Reply(fault.status or 500, wire.error(-1000, MSG_UNKNOWN), headers)

    @staticmethod
    def _paper_fault_reply(fault: PaperFault, headers: dict[str, str]) -> Reply:
        kind = PaperFault.Kind
        if fault.kind == kind.TIMEOUT:
            return Reply(503, wire.error(-1007, MSG_TIMEOUT), headers)
        if fault.kind == kind.RATE_LIMIT:
            retry = str(fault.retry_after or paper_faults.DEFAULT_RETRY_AFTER)
            return Reply(
                429, wire.error(-1003, "Too many requests."), {**headers, "Retry-After": retry}
            )
        if fault.kind == kind.INSUFFICIENT_FUNDS:
            return Reply(
                400,
                wire.error(-2010, "Account has insufficient balance for requested action."),
                headers,
            )
        return Reply(503, wire.error(-1006, MSG_BUS), headers)  # server_error

    def _authenticate(self, call: Call, endpoint: Endpoint) -> EmulatorKey:
        now = self.server_time_ms()
        if not call.api_key:
            raise ApiError(401, -2014, "API-key format invalid.")
        key = self.keys.get(call.api_key)
        if key is None or key.revoked:
            raise ApiError(401, -2015, MSG_BAD_KEY)
        timestamp = call.integer("timestamp")
        if timestamp is None:
            raise ApiError(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            )
        recv_window = call.integer("recvWindow", DEFAULT_RECV_WINDOW) or DEFAULT_RECV_WINDOW
        if recv_window > MAX_RECV_WINDOW:
            raise ApiError(400, -1131, "recvWindow must be less than 60000")
        if timestamp >= now + 1000:
            raise ApiError(
                400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > recv_window:
            raise ApiError(400, -1021, MSG_OUTSIDE_WINDOW)
        if not self._signature_ok(call, key):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        allowed = key.can_trade if endpoint.trades else key.can_read
        expired = key.trading_expires_ms is not None and now > key.trading_expires_ms
        if not allowed or (endpoint.trades and expired):
            raise ApiError(401, -2015, MSG_BAD_KEY)
        return key

    @staticmethod
    def _signature_ok(call: Call, key: EmulatorKey) -> bool:
        # totalParams = query string + body, with the signature parameter itself left out.
        def without_signature(raw: str) -> tuple[str, str | None]:
            kept, signature = [], None
            for part in raw.split("&") if raw else []:
                if part.startswith("signature="):
                    signature = part.removeprefix("signature=")
                else:
                    kept.append(part)
            return "&".join(kept), signature

        query, from_query = without_signature(call.query)
        body, from_body = without_signature(call.body)
        signature = from_query or from_body
        if not signature:
            return False
        expected = hmac.new(
            key.secret.encode(), (query + body).encode(), hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, signature.lower())

    def _count_order(self, key: EmulatorKey, now: int) -> dict[str, str]:
        ten_s = ("10S", key.api_key, now // 10_000)
        day = ("1D", key.api_key, now // 86_400_000)
        self._orders[ten_s] += 1
        self._orders[day] += 1
        for window, limit, label in (
            (ten_s, self.orders_per_10s, "10 SECOND"),
            (day, self.orders_per_day, "1 DAY"),
        ):
            if self._orders[window] > limit:
                self.rate_limited += 1
                # Binance sends no Retry-After for the order limits.
                raise ApiError(
                    429, -1015, f"Too many new orders; current limit is {limit} orders per {label}."
                )
        return {
            "X-MBX-ORDER-COUNT-10S": str(self._orders[ten_s]),
            "X-MBX-ORDER-COUNT-1D": str(self._orders[day]),
        }

    # --- endpoint helpers ------------------------------------------------------------
    def desk(self, key: EmulatorKey) -> AbstractContextManager[Desk]:
        return open_desk(key.api_key, key.secret, self.config, count=False)

    def now_minute(self) -> int:
        return prices.minute_of(self.config.now())

    def limits(self) -> list[dict[str, Any]]:
        return wire.rate_limits(
            weight=self.weight_limit, orders_10s=self.orders_per_10s, orders_day=self.orders_per_day
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ccxt's requests session expects
    server_version = "BinanceEmulator"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        emulator: BinanceEmulator = self.server.emulator  # type: ignore[attr-defined]
        reply = emulator.handle(self.command, self.path, body, dict(self.headers.items()))
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        raw = reply.body if isinstance(reply.body, Raw) else None
        payload = (
            raw.text.encode() if raw else json.dumps(reply.body, separators=(",", ":")).encode()
        )
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header(
            "Content-Type", raw.content_type if raw else "application/json;charset=UTF-8"
        )
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass  # request lines carry keys and signatures: never print them


def binance_client(
    emulator: BinanceEmulator,
    api_key: str,
    secret: str,
    *,
    options: dict[str, Any] | None = None,
    timeout_ms: int = 5_000,
    **config: Any,
) -> ccxt.binance:
    """A real ``ccxt.binance`` whose every API base URL points at the emulator.

    Spot only (``fetchMarkets: ['spot']``, ``defaultType: 'spot'``), ccxt's own
    rate limiter on, short timeouts; ``options`` and ``config`` override.
    """
    client = ccxt.binance(
        {
            "apiKey": api_key,
            "secret": secret,
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": {"fetchMarkets": ["spot"], "defaultType": "spot", **(options or {})},
            **config,
        }
    )
    client.urls["api"] = {
        name: emulator.rebase(url) if isinstance(url, str) else url
        for name, url in client.urls["api"].items()
    }
    emulator.track(client)
    return client
