from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from sealed.crypto import VaultDecryptionError, is_sealed_by_primary, reseal, seal, unseal


@pytest.fixture
def keys(settings) -> list[str]:
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    return settings.VAULT_KEYS


def test_it_round_trips(keys) -> None:
    assert unseal(seal("s3cret", context="a"), context="a") == "s3cret"


def test_a_ciphertext_does_not_open_in_another_context(keys) -> None:
    token = seal("s3cret", context="cred|owner=1|row=1")
    with pytest.raises(VaultDecryptionError):
        unseal(token, context="cred|owner=2|row=1")


def test_a_wrong_key_raises_instead_of_returning_ciphertext(settings, keys) -> None:
    token = seal("s3cret", context="a")
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(VaultDecryptionError) as excinfo:
        unseal(token, context="a")
    assert token not in str(excinfo.value)


def test_the_secret_key_is_not_what_encrypts(settings, keys) -> None:
    token = seal("s3cret", context="a")
    settings.SECRET_KEY = "something-else-entirely-" * 3
    assert unseal(token, context="a") == "s3cret"


def test_rotation_old_keys_still_open_and_reseal_moves_to_the_new_key(settings, keys) -> None:
    old = keys[0]
    token = seal("s3cret", context="a")
    new = Fernet.generate_key().decode()
    settings.VAULT_KEYS = [new, old]
    assert unseal(token, context="a") == "s3cret"
    assert not is_sealed_by_primary(token, context="a")
    rotated = reseal(token, context="a")
    assert is_sealed_by_primary(rotated, context="a")
    settings.VAULT_KEYS = [new]
    assert unseal(rotated, context="a") == "s3cret"


@pytest.mark.parametrize("bad", ["", "not-a-key", "c2hvcnQ="])
def test_a_malformed_key_stops_with_a_clear_error(settings, bad: str) -> None:
    settings.VAULT_KEYS = [bad] if bad else []
    with pytest.raises(ImproperlyConfigured, match="VAULT_KEYS"):
        seal("x", context="a")


def test_garbage_ciphertext_raises(keys) -> None:
    with pytest.raises(VaultDecryptionError):
        unseal("garbage", context="a")
