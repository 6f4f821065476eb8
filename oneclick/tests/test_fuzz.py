"""Odd input to every form, admin filter and webhook: never a 500, never a traceback.

The forms are found by walking the URL conf and reading the pages' <form>s,
as an anonymous visitor, as a user signed in with two-factor (with a fresh
step-up, so sensitive forms are reached too) and as staff in the admin.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from html.parser import HTMLParser
from typing import cast
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import TOTPDevice, User
from accounts.stepup import STEPUP_SESSION_KEY
from accounts.tests.factories import TOTPDeviceFactory, UserFactory
from strategies.tests.factories import BacktestFactory, SignalFactory
from trading.models import Decision, Order
from trading.tests.factories import BotFactory

pytestmark = pytest.mark.django_db

ODD_VALUES: dict[str, str | list[str]] = {
    "nul": "a\x00b",
    "100 kB": "x" * 100_000,
    "nested JSON": "[" * 5000,
    "JSON object": '{"a": {"b": [1, {"c": null}]}, "__proto__": 1}',
    "negative": "-1",
    "huge number": "9" * 400,
    "not a number": "NaN",
    "infinity": "-Infinity",
    "exponent": "1e999999",
    "odd unicode": "\u202e\ufffd\U0001f600\u0301",
    "path": "../../../etc/passwd",
    "markup": '"><script>alert(1)</script>',
    "empty": "",
    "list": ["a", "b", "\x00"],
}
# Query strings (many per page, each a full render): the values that differ in kind.
# 100 kB is answered 414 before any view; forms get every value.
QUERY_ODD_VALUES = {
    k: ODD_VALUES[k]
    for k in ["nul", "nested JSON", "huge number", "negative", "odd unicode", "list"]
}
NON_UTF8 = b"%FF%FE\xff\xfe%C3%28"
# Signing out is covered elsewhere; here it would end the fuzz session.
SKIP_PATHS = {"/account/logout/", "/admin/logout/"}


class FormReader(HTMLParser):
    """The POST forms on a page: action and field names (with their given values)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._fields = {}
            self.forms.append((a.get("action", ""), self._fields))
        elif self._fields is not None and tag in ("input", "select", "textarea", "button"):
            name = a.get("name")
            if name and name != "csrfmiddlewaretoken":
                self._fields.setdefault(name, a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None


def post_forms(page: str, url: str) -> list[tuple[str, dict[str, str]]]:
    reader = FormReader()
    reader.feed(page)
    return [(urljoin(url, action or url), fields) for action, fields in reader.forms]


def routes(patterns: list, prefix: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield "/" + prefix + str(p.pattern)


class Fuzzer:
    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.requests = 0
        self.failures: list[str] = []
        self.last_status = 0

    def check(self, what: str, response) -> None:
        self.requests += 1
        self.last_status = response.status_code
        # A deliberate refusal (403 from a read-only admin, 404) is logged with its
        # exception by Django; anything else with a traceback is a crash.
        tracebacks = [
            r
            for r in self.caplog.records
            if r.levelno >= logging.ERROR
            or (r.exc_info and not isinstance(r.exc_info[1], PermissionDenied | Http404))
        ]
        self.caplog.clear()
        if response.status_code >= 500 or tracebacks:
            detail = tracebacks[0].getMessage()[:200] if tracebacks else ""
            self.failures.append(f"{what}: {response.status_code} {detail}")

    def get(self, client: Client, url: str, what: str = "") -> None:
        self.check(f"GET {url[:120]} {what}", client.get(url))

    def post_odd(
        self, client: Client, url: str, fields: dict[str, str], values: dict | None = None
    ) -> None:
        names = list(fields) or ["next", "action", "code"]
        for label, odd in (values or ODD_VALUES).items():
            # Every field odd, then only the visible ones (the form's buttons
            # and hidden values kept, so deeper code is reached).
            everything = dict.fromkeys(names, odd)
            visible = {**fields, **{n: odd for n, v in fields.items() if not v}}
            for data in (everything, visible):
                self.check(f"POST {url} {label} {sorted(data)[:6]}", client.post(url, data))
        raw = b"&".join(n.encode() + b"=" + NON_UTF8 for n in names)
        self.check(
            f"POST {url} non-UTF-8",
            client.post(url, raw, content_type="application/x-www-form-urlencoded"),
        )
        self.check(
            f"POST {url} JSON",
            client.post(url, json.dumps({n: [{"a": None}] for n in names}), "application/json"),
        )


@pytest.fixture
def fuzzer(caplog: pytest.LogCaptureFixture, settings) -> Fuzzer:
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    caplog.set_level(logging.WARNING)
    return Fuzzer(caplog)


def signed_in(user: User, device: TOTPDevice) -> Client:
    """A session past the password, the one-time code and a fresh step-up."""
    client = Client(raise_request_exception=False)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[STEPUP_SESSION_KEY] = time.time()
    session.save()
    return client


def concrete_urls(values: dict[str, str]) -> list[str]:
    urls = []
    for route in routes(get_resolver().url_patterns):
        if route.startswith("/admin/") or "^" in route:
            continue
        url = re.sub(r"<\w+:(\w+)>", lambda m: values[m.group(1)], route)
        if url not in SKIP_PATHS:
            urls.append(url)
    return urls


def test_no_form_or_page_answers_odd_input_with_a_server_error(fuzzer: Fuzzer) -> None:
    user = UserFactory()
    device = TOTPDeviceFactory(user=user)
    bot = BotFactory(owner=user)
    signal = SignalFactory(strategy=bot.strategy)
    decision = Decision.objects.create(bot=bot, signal=signal)
    order = Order.objects.create(
        bot=bot, credential=bot.credential, exchange_id="paper", market="BTC/USDT",
        side="buy", amount=Decimal("0.1"), client_order_id="oc-fuzz",
    )  # fmt: skip
    backtest = BacktestFactory(strategy=bot.strategy)
    values = {
        "credential_id": str(bot.credential.pk),
        "bot_id": str(bot.pk),
        "order_id": str(order.pk),
        "decision_id": str(decision.pk),
        "backtest_id": str(backtest.pk),
        "slug": bot.strategy.slug,
        "exchange": "binance",
    }
    urls = concrete_urls(values)
    assert len(urls) > 30

    for url in urls:
        for who, client in [
            ("anonymous", Client(raise_request_exception=False)),
            ("user", signed_in(user, device)),
        ]:
            response = client.get(url)
            fuzzer.check(f"GET {url} as {who}", response)
            if isinstance(response, StreamingHttpResponse):  # the CSV export: read it all
                b"".join(cast(Iterable[bytes], response.streaming_content))
                continue
            forms = post_forms(response.content.decode(errors="replace"), url)
            if not forms and who == "user":
                forms = [(url, {})]  # POST-only endpoints (pause, stop, …)
            for action, fields in forms:
                if urlsplit(action).path in SKIP_PATHS:
                    continue
                fuzzer.post_odd(
                    signed_in(user, device) if who == "user" else client, action, fields
                )
            for label, odd in QUERY_ODD_VALUES.items():
                query = urlencode({"next": odd, "page": odd, "q": odd}, doseq=True)
                fuzzer.get(client, f"{url}?{query}", f"as {who} ({label})")
            fuzzer.check(f"GET {url} non-UTF-8", client.get(url, QUERY_STRING="page=%FF%FE"))
    for odd in ["not-a-uuid", "9" * 40, str(uuid.uuid4()), "a%00b", "%FF"]:
        for route in ["/keys/{}/", "/bots/{}/", "/bots/orders/{}/", "/strategies/{}/"]:
            fuzzer.get(signed_in(user, device), route.format(odd))

    assert not fuzzer.failures, "\n".join(fuzzer.failures[:30])
    assert fuzzer.requests > 1000
    fuzzer.get(client, "/dashboard/?" + urlencode({"q": ODD_VALUES["100 kB"]}))
    assert fuzzer.last_status == 414


def test_no_admin_filter_or_search_answers_odd_input_with_a_server_error(
    fuzzer: Fuzzer,
) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDeviceFactory(user=staff)
    BotFactory()  # rows behind the filters
    client = signed_in(staff, device)
    changelists = [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
    ]
    assert len(changelists) > 15
    for url in changelists:
        page = client.get(url)
        fuzzer.check(f"GET {url}", page)
        # Every filter link on the page names a parameter the changelist reads.
        params = set(re.findall(r'href="\?([^"=&]+)=', page.content.decode()))
        params |= {"q", "o", "p"}
        for param in sorted(params):
            for label, odd in QUERY_ODD_VALUES.items():
                query = urlencode({param: odd}, doseq=True)
                fuzzer.get(client, f"{url}?{query}", f"({label})")
            fuzzer.check(
                f"GET {url}?{param}=non-UTF-8", client.get(url, QUERY_STRING=f"{param}=%FF")
            )
        for label, odd in QUERY_ODD_VALUES.items():
            data = {"action": odd, "_selected_action": odd, "index": odd}
            fuzzer.check(f"POST {url} action ({label})", client.post(url, data))
        for odd in ["not-a-pk", "9" * 40, "a%00b", "%FF"]:
            fuzzer.get(client, f"{url}{odd}/change/")
        # The admin's own forms: add, and change on an existing row.
        model = next(m for m in admin.site._registry if url.endswith(f"/{m._meta.model_name}/"))
        row = model._default_manager.order_by("-pk").first()  # the staff user is the first
        for form_url in [f"{url}add/", *([f"{url}{row.pk}/change/"] if row else [])]:
            page = client.get(form_url)
            fuzzer.check(f"GET {form_url}", page)
            if page.status_code == 200:
                for action, fields in post_forms(page.content.decode(), form_url):
                    if urlsplit(action).path not in SKIP_PATHS:
                        fuzzer.post_odd(client, action, fields, QUERY_ODD_VALUES)

    assert not fuzzer.failures, "\n".join(fuzzer.failures[:30])
    assert client.get("/admin/").status_code == 200  # still signed in: every page was reached


@pytest.mark.parametrize("secret", ["webhook-secret-for-tests", "wrong"])
def test_the_webhook_answers_odd_bodies_without_a_server_error(
    fuzzer: Fuzzer, settings, secret: str
) -> None:
    settings.TELEGRAM_WEBHOOK_SECRET = "webhook-secret-for-tests"
    client = Client(raise_request_exception=False)
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    bodies: list[str | bytes] = [
        b"\xff\xfe\x00\x01",
        "[" * 5000,
        '{"update_id": 1, "message": ' * 500 + "1" + "}" * 500,
        "x" * 100_000,
        '{"update_id": 1, "message": {"chat": {"id": 1}, "text": "/start ' + "x" * 60_000 + '"}}',
        '{"update_id": 1e999, "message": {}}',
        '{"update_id": NaN}',
        "null",
        '"string"',
        "",
    ]
    for odd in ODD_VALUES.values():
        bodies.append(json.dumps({"update_id": 1, "message": odd}))
        bodies.append(json.dumps({"update_id": 1, "message": {"chat": odd, "text": odd}}))
        bodies.append(json.dumps({"update_id": 1, "message": {"chat": {"id": odd}, "text": odd}}))
    for body in bodies:
        response = client.post("/telegram/webhook/", body, "application/json", headers=headers)
        fuzzer.check(f"webhook {str(body)[:60]!r}", response)
        assert response.status_code in (200, 400, 403, 413), str(body)[:60]
    fuzzer.check("webhook GET", client.get("/telegram/webhook/", headers=headers))

    assert not fuzzer.failures, "\n".join(fuzzer.failures[:30])
