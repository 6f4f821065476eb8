"""Credential pages: ownership, step-up, disable and delete (no exchange needed)."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection
from django.test import Client

from accounts.models import SecurityEvent, User
from accounts.stepup import STEPUP_SESSION_KEY
from accounts.tests.conftest import password_login
from vault.models import ExchangeCredential
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def credential(user: User) -> ExchangeCredential:
    return CredentialFactory(owner=user)


def stale_stepup(client: Client) -> None:
    session = client.session
    session[STEPUP_SESSION_KEY] = time.time() - 3600
    session.save()


def raw_column(credential: ExchangeCredential, column: str) -> str | None:
    """The column as stored, bypassing the field (a fixed column name, not input)."""
    assert column in {"api_key", "secret", "passphrase", "uid"}
    query = "SELECT " + column + " FROM vault_exchangecredential WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            query, [credential.pk.hex if connection.vendor == "sqlite" else credential.pk]
        )
        return cursor.fetchone()[0]


def test_the_list_shows_only_my_keys_masked(verified_client: Client, credential) -> None:
    other = CredentialFactory(label="Someone else's")
    page = verified_client.get("/keys/").content.decode()
    assert credential.label in page and credential.api_key_masked in page
    assert credential.api_key not in page and credential.secret not in page
    assert other.label not in page


def test_the_list_query_count_is_constant(
    verified_client: Client, user, django_assert_num_queries
) -> None:
    CredentialFactory(owner=user)
    verified_client.get("/keys/")
    with django_assert_num_queries(5):
        verified_client.get("/keys/")
    CredentialFactory.create_batch(5, owner=user)
    with django_assert_num_queries(5):
        verified_client.get("/keys/")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", "disable/"),
        ("get", "enable/"),
        ("post", "enable/"),
        ("get", "delete/"),
        ("post", "delete/"),
    ],
)
def test_another_users_credential_is_a_404_on_every_url(
    verified_client: Client, method, suffix
) -> None:
    other = CredentialFactory()
    response = getattr(verified_client, method)(f"/keys/{other.pk}/{suffix}")
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "active" and other.secret


def test_an_unknown_id_is_a_404(verified_client: Client) -> None:
    assert verified_client.get(f"/keys/{uuid.uuid4()}/").status_code == 404
    assert verified_client.get("/keys/not-a-uuid/").status_code == 404


def test_linking_needs_two_factor(client: Client, user: User) -> None:
    password_login(client, user)
    response = client.get("/keys/link/")
    assert response.status_code == 302 and response["Location"] == "/account/2fa/setup/"


def test_linking_needs_a_fresh_code(verified_client: Client) -> None:
    stale_stepup(verified_client)
    response = verified_client.post(
        "/keys/link/",
        {"exchange_id": "paper", "label": "x", "api_key": "k" * 20, "secret": "s" * 20},
    )
    assert response.status_code == 302 and response["Location"].startswith("/account/2fa/confirm/")
    assert not ExchangeCredential.objects.exists()


def test_disabling_needs_no_code_and_is_logged(verified_client: Client, credential) -> None:
    stale_stepup(verified_client)
    response = verified_client.post(f"/keys/{credential.pk}/disable/")
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.status == "disabled"
    assert SecurityEvent.objects.filter(kind="key_disabled").exists()


def test_deleting_needs_a_fresh_code(verified_client: Client, credential) -> None:
    stale_stepup(verified_client)
    response = verified_client.post(f"/keys/{credential.pk}/delete/")
    assert response.status_code == 302 and "/account/2fa/confirm/" in response["Location"]
    credential.refresh_from_db()
    assert credential.status == "active"


def test_deleting_erases_the_ciphertext(verified_client: Client, credential) -> None:
    assert raw_column(credential, "secret")
    response = verified_client.post(f"/keys/{credential.pk}/delete/")
    assert response.status_code == 302
    for column in ("api_key", "secret", "passphrase", "uid"):
        assert raw_column(credential, column) is None
    credential.refresh_from_db()
    assert credential.status == "deleted"
    assert verified_client.get(f"/keys/{credential.pk}/").status_code == 404
    assert SecurityEvent.objects.filter(kind="key_deleted").exists()


def test_re_enabling_needs_a_fresh_code(verified_client: Client, credential) -> None:
    credential.status = "disabled"
    credential.save()
    stale_stepup(verified_client)
    response = verified_client.post(f"/keys/{credential.pk}/enable/")
    assert response.status_code == 302 and "/account/2fa/confirm/" in response["Location"]
    credential.refresh_from_db()
    assert credential.status == "disabled"


def test_the_detail_page_shows_uses_and_never_the_secret(
    verified_client: Client, credential
) -> None:
    from vault.models import CredentialUse

    CredentialUse.objects.create(credential=credential, purpose="trade", detail="BTC/USDT buy")
    page = verified_client.get(f"/keys/{credential.pk}/").content.decode()
    assert "Placed or managed an order" in page and "BTC/USDT buy" in page
    assert credential.secret not in page and credential.api_key not in page


@pytest.mark.parametrize("label", ["\ufeff", "\u200b \u2060", "\u00a0\ufeff"])
def test_a_key_name_of_invisible_characters_only_is_refused(
    verified_client: Client, user: User, label: str
) -> None:
    # Failed before: stored, and the key showed as a blank name in lists and emails.
    response = verified_client.post(
        "/keys/link/", {"exchange_id": "paper", "label": label, "api_key": "k", "secret": "s"}
    )
    assert response.status_code == 200
    assert "at least one visible letter, digit or sign" in response.content.decode()
    assert not ExchangeCredential.objects.filter(owner=user).exists()


def test_a_key_name_with_a_line_break_is_refused(verified_client: Client, user: User) -> None:
    # Failed before: stored, and alerts about the key (its name in the subject) failed.
    response = verified_client.post(
        "/keys/link/",
        {
            "exchange_id": "paper",
            "label": "Main\nBcc: x@example.com",
            "api_key": "k",
            "secret": "s",
        },
    )
    assert response.status_code == 200
    assert "no line breaks, tabs or direction controls" in response.content.decode()
    assert not ExchangeCredential.objects.filter(owner=user).exists()
