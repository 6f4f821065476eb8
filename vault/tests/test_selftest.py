from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from vault.models import VaultSentinel
from vault.selftest import check_vault_keys

pytestmark = pytest.mark.django_db


def test_the_first_run_writes_the_sentinel_and_later_runs_open_it() -> None:
    check_vault_keys()
    assert VaultSentinel.objects.count() == 1
    check_vault_keys()
    assert VaultSentinel.objects.count() == 1


def test_a_wrong_key_refuses_to_start(settings) -> None:
    check_vault_keys()
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="cannot decrypt"):
        check_vault_keys()


def test_a_rotated_key_list_that_keeps_the_old_key_starts(settings) -> None:
    check_vault_keys()
    settings.VAULT_KEYS = [Fernet.generate_key().decode(), *settings.VAULT_KEYS]
    check_vault_keys()


def test_the_command_reports_success(capsys) -> None:
    call_command("vault_selftest")
    assert "Vault keys OK." in capsys.readouterr().out
