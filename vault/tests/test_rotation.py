from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts.models import TOTPDevice
from accounts.tests.factories import TOTPDeviceFactory
from vault.models import ExchangeCredential
from vault.rotation import rotate_all
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _only_this_tests_secrets() -> None:
    # Strategies seeded on migrate hold sealed keys too; counts here are about our rows.
    from strategies.models import Strategy

    Strategy.objects.all().delete()


def test_rotate_then_drop_the_old_key_and_everything_still_decrypts(settings, capsys) -> None:
    credentials = CredentialFactory.create_batch(3, passphrase="pass-phrase")
    device = TOTPDeviceFactory()
    expected = {c.pk: (c.api_key, c.secret, c.passphrase) for c in credentials}
    old = settings.VAULT_KEYS[0]
    settings.VAULT_KEYS = [Fernet.generate_key().decode(), old]

    call_command("rotate_vault_keys")
    assert "Re-encrypted 10 value(s)" in capsys.readouterr().out

    settings.VAULT_KEYS = settings.VAULT_KEYS[:1]  # the old key is gone
    for credential in ExchangeCredential.objects.all():
        assert (credential.api_key, credential.secret, credential.passphrase) == expected[
            credential.pk
        ]
    assert TOTPDevice.objects.get(pk=device.pk).key == device.key


def test_rotation_is_safe_to_re_run(settings) -> None:
    CredentialFactory()
    settings.VAULT_KEYS = [Fernet.generate_key().decode(), settings.VAULT_KEYS[0]]
    first = rotate_all()
    second = rotate_all()
    assert first.rotated == 2 and second.rotated == 0 and second.current == 2


def test_an_interrupted_rotation_finishes_on_the_next_run(settings, monkeypatch) -> None:
    CredentialFactory.create_batch(3)
    settings.VAULT_KEYS = [Fernet.generate_key().decode(), settings.VAULT_KEYS[0]]
    import vault.rotation as rotation
    from sealed.crypto import reseal as real_reseal

    calls = {"n": 0}

    def crash_after_two(token: str, *, context: str) -> str:
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return real_reseal(token, context=context)

    monkeypatch.setattr(rotation, "reseal", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        rotate_all()
    monkeypatch.setattr(rotation, "reseal", real_reseal)
    report = rotate_all()
    assert report.rotated == 4 and report.current == 2
    settings.VAULT_KEYS = settings.VAULT_KEYS[:1]
    assert all(c.secret for c in ExchangeCredential.objects.all())


def test_values_no_key_can_open_are_reported_not_destroyed(settings) -> None:
    credential = CredentialFactory()
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="could not be decrypted") as excinfo:
        call_command("rotate_vault_keys")
    assert str(credential.pk) in str(excinfo.value)
    assert credential.secret not in str(excinfo.value)
