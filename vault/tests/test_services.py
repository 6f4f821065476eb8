"""Credential services. Paths that reach an exchange are in test_link_flow.py."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core import mail

from accounts.models import SecurityEvent, TelegramLink
from accounts.tests.fake_telegram import FakeTelegram, fake_telegram  # noqa: F401
from vault.models import CredentialUse, ExchangeCredential
from vault.services import CredentialUnusable, client_for, credential_mark_invalid
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["disabled", "invalid", "deleted"])
def test_an_inactive_credential_opens_no_client(status: str) -> None:
    credential = CredentialFactory(status=status)
    with pytest.raises(CredentialUnusable):
        client_for(credential, purpose="trade")
    assert not CredentialUse.objects.exists()


def test_the_kill_switch_wins_over_a_stale_object() -> None:
    credential = CredentialFactory()
    ExchangeCredential.objects.filter(pk=credential.pk).update(status="disabled")
    assert credential.status == "active"  # what a long-running worker still holds
    with pytest.raises(CredentialUnusable, match="disabled"):
        client_for(credential, purpose="trade")


def test_an_undecryptable_secret_marks_the_key_invalid_and_alerts_the_owner(
    settings, django_capture_on_commit_callbacks
) -> None:
    credential = CredentialFactory()
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CredentialUnusable):
        client_for(credential, purpose="trade")
    credential.refresh_from_db()
    assert credential.status == "invalid"
    assert "could not be decrypted" in credential.status_reason
    assert SecurityEvent.objects.filter(kind="key_invalid", user=credential.owner).exists()
    assert [m.to for m in mail.outbox] == [[credential.owner.email]]
    assert "stopped working" in mail.outbox[0].subject


def test_a_key_alert_goes_by_email_and_to_a_linked_telegram_chat_once_committed(
    fake_telegram: FakeTelegram, django_capture_on_commit_callbacks
) -> None:
    credential = CredentialFactory()
    TelegramLink.objects.create(user=credential.owner, chat_id=7)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        credential_mark_invalid(credential, reason="Binance says the key was revoked")
    assert not mail.outbox and not fake_telegram.sent, "nothing leaves before the commit"
    for callback in callbacks:
        callback()
    [email] = mail.outbox
    assert email.to == [credential.owner.email]
    assert email.subject == f"[OneClick] Exchange key stopped working: {credential.label}"
    assert "Binance says the key was revoked" in email.body
    [chat] = fake_telegram.sent
    assert credential.api_key_masked in chat["text"]
    assert "Binance says the key was revoked" in chat["text"]


def test_an_undecryptable_secret_is_never_re_saved(settings) -> None:
    credential = CredentialFactory()
    from django.db import connection

    def stored() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT secret FROM vault_exchangecredential WHERE label = %s", [credential.label]
            )
            return cursor.fetchone()[0]

    before = stored()
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CredentialUnusable):
        client_for(credential, purpose="trade")
    assert stored() == before


def test_marking_invalid_never_resurrects_a_deleted_key() -> None:
    credential = CredentialFactory(status="deleted")
    credential_mark_invalid(credential, reason="revoked")
    assert ExchangeCredential.objects.get(pk=credential.pk).status == "deleted"


def test_str_and_repr_show_only_the_masked_key() -> None:
    credential = CredentialFactory()
    for text in (str(credential), repr(credential)):
        assert credential.api_key_masked in text
        assert credential.api_key not in text and credential.secret not in text


def test_an_expiry_warning_without_a_known_date_prints_none() -> None:
    # Failed before: "The exchange says it expires on —." for a key whose expiry is
    # not known (an exchange's placeholder such as 0 is no date).
    from vault.emails import key_alert_body

    body = key_alert_body(CredentialFactory(expires_at=None), SecurityEvent.Kind.KEY_EXPIRING)
    assert "expires on" not in body and "1970" not in body and "—" not in body.split("Your key")[0]
    assert "Create a new key" in body


def test_an_expiry_stored_as_a_1970_placeholder_is_cleared_by_the_migration() -> None:
    # Failed before (no such migration): the key page and emails kept "1970-01-01".
    import datetime as dt
    from importlib import import_module

    from django.apps import apps

    placeholder = dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
    old = CredentialFactory(expires_at=placeholder, expiry_warned_for=placeholder)
    real = CredentialFactory(expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    import_module("vault.migrations.0003_placeholder_expiries").clear(apps, None)
    old.refresh_from_db()
    real.refresh_from_db()
    assert old.expires_at is None and old.expiry_warned_for is None
    assert real.expires_at == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
