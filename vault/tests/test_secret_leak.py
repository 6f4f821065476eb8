"""A key's secret never shows up anywhere: pages, admin, errors, logs, emails,
queued tasks or plaintext database columns.

A credential is linked with sentinel values, then every page and admin page is
visited, errors are triggered, tasks run and are queued, and every place a
secret could leak to is searched for the sentinels.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import cast

import pytest
from django.contrib import admin
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import User
from accounts.tests.factories import UserFactory
from oneclick.tests.broker import queued_packages
from paper import faults
from vault.models import ExchangeCredential

pytestmark = pytest.mark.django_db

SECRET = "SENTINEL-secret-9c1f7e2ad4b34e0f"
WRONG_SECRET = "SENTINEL-wrong-secret-51aa0c9d"
API_KEY = "SENTINEL-apikey-77d0c4e1b2"
SENTINELS = (SECRET, WRONG_SECRET)


@pytest.fixture
def user(db: None) -> User:
    return UserFactory(is_staff=True, is_superuser=True)


def _plain_urls(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    """Every URL without parameters (parameterised ones are visited with real ids)."""
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern)
        if "<" in pattern or "(?P" in pattern or pattern.startswith("admin/"):
            continue
        if isinstance(entry, URLPattern):
            yield "/" + pattern.lstrip("^").rstrip("$")
        elif isinstance(entry, URLResolver):
            yield from _plain_urls(entry, pattern)


def _admin_urls() -> Iterator[str]:
    yield "/admin/"
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        yield base
        for obj in model_admin.get_queryset(cast(HttpRequest, _FakeRequest())).all()[:5]:
            yield f"{base}{obj.pk}/change/"


class _FakeRequest:
    user = None


def _as_text(value: object) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _database_text() -> str:
    """Every value of every table, as text (a secret stored in clear would show)."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(" ".join(map(_as_text, row)) for row in cursor.fetchall())
    return "\n".join(chunks)


def _queued_task_text(monkeypatch: pytest.MonkeyPatch) -> str:
    """Queue the fan-out for real (not inline) and read what the broker holds."""
    from vault.tasks import recheck_all_credentials

    packages = [repr(p) for p in queued_packages(monkeypatch, recheck_all_credentials)]
    assert packages, "nothing was queued: the check would prove nothing"
    return "\n".join(packages)


def test_no_secret_ever_leaves_the_vault(
    verified_client: Client,
    user: User,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = verified_client
    seen: list[tuple[str, str]] = []

    def visit(method: str, url: str, data: dict | None = None) -> None:
        response = getattr(client, method)(url, data or {})
        # The CSV export streams: read it all, it is checked like any page.
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace")
        headers = str(response.headers.items())
        seen.append((f"{method.upper()} {url} -> {response.status_code}", body + headers))

    with django_capture_on_commit_callbacks(execute=True):
        form = {"exchange_id": "paper", "label": "Leak test", "api_key": API_KEY, "secret": SECRET}
        visit("post", "/keys/link/", form)
        credential = ExchangeCredential.objects.get(owner=user)
        # Errors: a wrong secret, an exchange timeout, bad input, a crash mid-link.
        visit("post", "/keys/link/", {**form, "secret": WRONG_SECRET})
        faults.inject(API_KEY, "timeout", method="check_permissions")
        visit("post", "/keys/link/", form)
        visit("post", "/keys/link/", {**form, "label": ""})
        client.raise_request_exception = False
        with monkeypatch.context() as crash:
            crash.setattr("vault.services.inspect_key", _explode)
            visit("post", "/keys/link/", {**form, "secret": WRONG_SECRET})
        client.raise_request_exception = True
        visit("get", f"/keys/{credential.pk}/does-not-exist/")

        from strategies.models import Strategy

        for strategy in Strategy.objects.all():
            visit("get", f"/strategies/{strategy.slug}/")
        for url in _plain_urls():
            if url not in {"/account/logout/"}:
                visit("get", url)
        for suffix in ("", "enable/", "delete/"):
            visit("get", f"/keys/{credential.pk}/{suffix}")
        visit("post", f"/keys/{credential.pk}/disable/")
        visit("post", f"/keys/{credential.pk}/enable/")

        # Tasks: the scheduled re-check, and an alert email about the key.
        from vault.tasks import recheck_all_credentials, send_key_alert

        recheck_all_credentials()
        send_key_alert(str(credential.pk), "key_invalid")
        call_command("rotate_vault_keys")
        for url in _admin_urls():
            visit("get", url)

    assert len(seen) > 40, "too few pages visited for the check to mean much"
    assert any("500" in where for where, _ in seen), "the crash did not happen"
    queued = _queued_task_text(monkeypatch)
    emails = "\n".join(f"{m.subject}{m.body}{m.to}" for m in mail.outbox)
    logs = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert mail.outbox, "no email was sent: the check would prove nothing"
    database = _database_text()

    from strategies.models import Strategy

    signing_keys = [strategy.private_key for strategy in Strategy.objects.all()]
    assert signing_keys, "no strategy keys: the check would prove nothing"
    for sentinel in (*SENTINELS, *signing_keys):
        for where, text in seen:
            assert sentinel not in text, f"secret in response of {where}"
        assert sentinel not in logs, "secret in a log record"
        assert sentinel not in emails, "secret in an email"
        assert sentinel not in queued, "secret in a queued task"
        assert sentinel not in database, "secret in a plaintext database column"
    for where, text in seen:
        assert API_KEY not in text, f"unmasked API key in {where}"
    assert API_KEY not in emails and API_KEY not in queued
    assert API_KEY not in logs, "unmasked API key in a log record"


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the exchange library crashed")
