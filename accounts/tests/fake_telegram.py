"""A local fake of the Telegram Bot API: enough of getMe and sendMessage."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class FakeTelegram:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_next = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an IPv4 loopback server
        return f"http://{host}:{port}/bot"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                content_type = self.headers.get("Content-Type", "")
                if "json" in content_type:
                    params = json.loads(raw or "{}")
                else:
                    from urllib.parse import parse_qsl

                    params = dict(parse_qsl(raw))
                method = self.path.rsplit("/", 1)[-1]
                if fake.fail_next and method == "sendMessage":
                    fake.fail_next -= 1
                    return self._reply(
                        502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
                    )
                if method == "getMe":
                    return self._reply(
                        200,
                        {
                            "ok": True,
                            "result": {
                                "id": 42,
                                "is_bot": True,
                                "first_name": "OneClick",
                                "username": "oneclick_test_bot",
                            },
                        },
                    )
                if method == "sendMessage":
                    fake.sent.append(params)
                    chat = {"id": int(params["chat_id"]), "type": "private"}
                    return self._reply(
                        200,
                        {
                            "ok": True,
                            "result": {
                                "message_id": len(fake.sent),
                                "date": 0,
                                "chat": chat,
                                "text": params.get("text", ""),
                            },
                        },
                    )
                return self._reply(
                    404, {"ok": False, "error_code": 404, "description": "Not Found"}
                )

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def fake_telegram(settings) -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.thread.start()
    settings.TELEGRAM_BOT_TOKEN = "123456:TEST-token"
    settings.TELEGRAM_BOT_USERNAME = "oneclick_test_bot"
    settings.TELEGRAM_API_BASE = fake.base_url
    settings.TELEGRAM_WEBHOOK_SECRET = "webhook-secret-for-tests"
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
