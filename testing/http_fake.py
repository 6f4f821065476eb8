"""A tiny JSON-over-HTTP server on 127.0.0.1 for faking an exchange's private endpoints.

The fakes built on it (``kraken_fake``, ``bitvavo_fake``, ``onetrading_fake``)
are answered by the **real** ccxt client, so signing, URL building and ccxt's
error mapping of each exchange's own error codes are exercised.

A fake also guards the one promise a key check must keep: it never sends a
request that could move funds. Anything that could (a withdrawal with a
plausible amount or address, an unexpected write) is recorded in
``violations`` and answered with a 500; the pytest fixtures fail the test when
``violations`` is not empty at the end.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

JSON = Any


@dataclass
class Call:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        """HTTP header names are case-insensitive (ccxt sends some in capitals)."""
        return self.headers.get(name.lower(), "")

    def json(self) -> JSON:
        return json.loads(self.body or b"{}")


@dataclass
class Reply:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


class FakeExchangeServer:
    """Subclasses implement ``answer(call) -> Reply``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.violations: list[str] = []
        # (method, path) -> Reply: the next such call gets this reply instead (outages, limits).
        self.next_replies: dict[tuple[str, str], Reply] = {}
        # Set to an Event to hold every answer until it is set (a slow exchange), at most 10 s.
        self.hold: threading.Event | None = None
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                call = Call(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query)),
                    raw_query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = fake._dispatch(call)
                body = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _dispatch(self, call: Call) -> Reply:
        if self.hold is not None:
            self.hold.wait(timeout=10)
        with self._lock:
            self.calls.append(call)
            injected = self.next_replies.pop((call.method, call.path), None)
        if injected is not None:
            return injected
        try:
            return self.answer(call)
        except Exception as exc:  # a bug in the fake must fail the test, not hang it
            self.violate(f"fake crashed on {call.method} {call.path}: {exc!r}")
            return Reply(500, {"error": "fake crashed"})

    def answer(self, call: Call) -> Reply:
        raise NotImplementedError

    def violate(self, what: str) -> None:
        with self._lock:
            self.violations.append(what)

    def paths(self, method: str | None = None) -> list[str]:
        return [c.path for c in self.calls if method is None or c.method == method]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
