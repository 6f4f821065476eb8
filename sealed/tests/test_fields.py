"""The hardened encrypted field, exercised through a real model (TOTPDevice)."""

from __future__ import annotations

import contextlib
import threading

import pytest
from cryptography.fernet import Fernet
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import TOTPDevice
from accounts.tests.factories import TOTPDeviceFactory, UserFactory
from sealed.crypto import VaultDecryptionError
from sealed.fields import Ciphertext, Sealed, VaultLookupRefused

pytestmark = pytest.mark.django_db


def stored(device: TOTPDevice) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totpdevice WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def test_it_stores_ciphertext_and_reads_plaintext() -> None:
    device = TOTPDeviceFactory(key="ab" * 20)
    assert stored(device) != "ab" * 20
    assert TOTPDevice.objects.get(pk=device.pk).key == "ab" * 20


def test_a_value_that_does_not_decrypt_raises(settings) -> None:
    device = TOTPDeviceFactory()
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    loaded = TOTPDevice.objects.get(pk=device.pk)
    with pytest.raises(VaultDecryptionError):
        _ = loaded.key


def test_an_unopened_value_is_re_saved_unchanged_never_double_encrypted(settings) -> None:
    device = TOTPDeviceFactory()
    original_key, before = device.key, stored(device)
    good_keys = settings.VAULT_KEYS
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    loaded = TOTPDevice.objects.get(pk=device.pk)
    loaded.name = "renamed"
    loaded.save()
    assert stored(device) == before
    settings.VAULT_KEYS = good_keys
    assert TOTPDevice.objects.get(pk=device.pk).key == original_key


def test_a_ciphertext_copied_to_another_users_row_does_not_decrypt() -> None:
    victim = TOTPDeviceFactory()
    attacker = TOTPDeviceFactory(user=UserFactory())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_totpdevice SET key = %s WHERE id = %s", [stored(victim), attacker.pk]
        )
    with pytest.raises(VaultDecryptionError):
        _ = TOTPDevice.objects.get(pk=attacker.pk).key


def test_a_ciphertext_copied_to_another_row_of_the_same_user_does_not_decrypt() -> None:
    first = TOTPDeviceFactory()
    second = TOTPDeviceFactory(user=first.user)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_totpdevice SET key = %s WHERE id = %s", [stored(first), second.pk]
        )
    with pytest.raises(VaultDecryptionError):
        _ = TOTPDevice.objects.get(pk=second.pk).key


def test_plaintext_cannot_reach_the_column_through_update_or_filter() -> None:
    device = TOTPDeviceFactory()
    with pytest.raises(TypeError, match="encrypted"):
        TOTPDevice.objects.filter(pk=device.pk).update(key="cd" * 20)
    with pytest.raises(TypeError, match="encrypted"):
        list(TOTPDevice.objects.filter(key="cd" * 20))


@pytest.mark.parametrize(
    "lookup",
    [
        "regex",
        "iregex",
        "startswith",
        "istartswith",
        "endswith",
        "contains",
        "icontains",
        "isnull",
        "gt",
        "gte",
        "lt",
        "lte",
        "in",
        "range",
        "iexact",
        "length__gt",
        "lower__exact",
    ],
)
def test_no_lookup_can_look_inside_the_column(lookup: str) -> None:
    # Test fails on main before this change: regex/startswith/contains/isnull ran
    # against the ciphertext and narrowed the rows.
    TOTPDeviceFactory()
    value = {"isnull": False, "in": ["gAAAA"], "range": ("a", "z")}.get(lookup, "gAAAA")
    with pytest.raises(VaultLookupRefused, match="encrypted"):
        list(TOTPDevice.objects.filter(**{f"key__{lookup}": value}))


def test_the_rotation_compare_and_set_on_the_exact_ciphertext_still_works() -> None:
    device = TOTPDeviceFactory()
    raw = TOTPDevice.objects.get(pk=device.pk).__dict__["key"]
    assert TOTPDevice.objects.filter(pk=device.pk, key=Ciphertext(raw)).count() == 1
    assert TOTPDevice.objects.filter(pk=device.pk, key=Ciphertext("gAAAAother")).count() == 0


def test_forms_and_serializers_never_see_the_secret() -> None:
    device = TOTPDeviceFactory()
    field = TOTPDevice._meta.get_field("key")
    assert field.value_from_object(device) == ""
    assert field.value_to_string(device) == ""
    form_class = forms.modelform_factory(TOTPDevice, fields=["name"])
    assert device.key not in str(form_class(instance=device))


def test_the_sealed_value_hides_itself_in_repr() -> None:
    device = TOTPDeviceFactory()
    raw = TOTPDevice.objects.get(pk=device.pk).__dict__["key"]
    assert isinstance(raw, Sealed)
    assert repr(raw) == "<sealed secret>"


def test_a_deferred_value_loads_and_decrypts() -> None:
    device = TOTPDeviceFactory()
    assert TOTPDevice.objects.defer("key").get(pk=device.pk).key == device.key


@pytest.mark.django_db(transaction=True)
def test_concurrent_reads_and_form_cleaning_never_see_ciphertext() -> None:
    """The library's shared 'already decrypted' flag made threads see ciphertext."""
    device = TOTPDeviceFactory()
    field = TOTPDevice._meta.get_field("key")
    seen: list[str] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(50):
                seen.append(TOTPDevice.objects.get(pk=device.pk).key)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    def clean() -> None:
        for _ in range(200):
            field.clean("ef" * 20, device)
            # A failing clean() must not leave state behind.
            with contextlib.suppress(ValidationError):
                field.clean(None, device)

    threads = [threading.Thread(target=clean), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert seen and set(seen) == {device.key}


def test_refreshing_a_row_whose_secret_does_not_decrypt_still_works(settings) -> None:
    device = TOTPDeviceFactory()
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    TOTPDevice.objects.filter(pk=device.pk).update(name="renamed")
    device.refresh_from_db()
    assert device.name == "renamed"
    with pytest.raises(VaultDecryptionError):
        _ = device.key
