"""Kraken keys through the real ccxt client against a local fake of GetApiKeyInfo."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from vault.models import ExchangeCredential

SECRET = base64.b64encode(
    b"kraken-test-secret-bytes-0123456789"
).decode()  # Kraken secrets are base64


class FakeKraken:
    def __init__(self) -> None:
        self.reply: dict[str, Any] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.calls.append((self.path, dict(self.headers)))
                body = json.dumps(fake.reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def kraken(settings) -> Iterator[FakeKraken]:
    fake = FakeKraken()
    settings.EXCHANGE_URL_OVERRIDES = {"kraken": fake.url}
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def info(permissions: list[str], *, ips: list[str] | None = None) -> dict[str, Any]:
    return {
        "error": [],
        "result": {
            "apiKeyName": "oneclick",
            "permissions": permissions,
            "validUntil": "0",
            "ipAllowlist": ips if ips is not None else ["203.0.113.10"],
        },
    }


def link(client: Client):
    return client.post(
        "/keys/link/",
        {
            "exchange_id": "kraken",
            "label": "Kraken",
            "api_key": "KRAKEN-api-key-123456",
            "secret": SECRET,
        },
    )


@pytest.mark.django_db
def test_a_kraken_trading_key_links_after_get_api_key_info(
    verified_client: Client, user, kraken
) -> None:
    kraken.reply = info(["query-funds", "create-modify-orders", "cancel-close-orders"])
    assert link(verified_client).status_code == 302
    credential = ExchangeCredential.objects.get(owner=user)
    assert credential.permissions["can_trade"] is True and credential.ip_restricted is True
    path, headers = kraken.calls[-1]
    assert path == "/0/private/GetApiKeyInfo"
    assert headers["API-Key"] == "KRAKEN-api-key-123456" and headers["API-Sign"]


@pytest.mark.django_db
def test_a_kraken_key_with_withdraw_funds_is_refused(verified_client: Client, kraken) -> None:
    kraken.reply = info(["query-funds", "create-modify-orders", "withdraw-funds"])
    assert "can withdraw funds" in link(verified_client).content.decode()
    assert not ExchangeCredential.objects.exists()


@pytest.mark.django_db
def test_a_kraken_key_kraken_rejects_is_refused(verified_client: Client, kraken) -> None:
    kraken.reply = {"error": ["EAPI:Invalid key"]}
    assert "rejected this API key or secret" in link(verified_client).content.decode()
    assert not ExchangeCredential.objects.exists()
