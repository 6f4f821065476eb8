"""Each process checks the vault keys itself when it starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from trading.tests.processes import database_env
from vault.selftest import SENTINEL_TEXT, check_vault_keys, running_command

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], *, vault_keys: str, timeout: float = 60) -> tuple[int, str, float]:
    env = {
        **os.environ,
        **database_env(),
        "VAULT_KEYS": vault_keys,
        "VAULT_CHECK_AT_START": "true",
        "DJANGO_SETTINGS_MODULE": "oneclick.settings",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


@pytest.fixture
def sealed_sentinel(transactional_db: None) -> str:
    """The sentinel sealed (and committed) under the test's keys."""
    check_vault_keys()
    return ",".join(settings.VAULT_KEYS)


def test_the_task_cluster_refuses_to_start_with_a_wrong_key(sealed_sentinel: str) -> None:
    # Test fails on main before this change: qcluster ran on with the wrong key.
    wrong = Fernet.generate_key().decode()
    code, output, seconds = run(["manage.py", "qcluster"], vault_keys=wrong)
    assert code != 0
    assert seconds < 30
    assert "VAULT_KEYS cannot decrypt data written earlier" in output
    assert "Traceback" not in output
    for secret in [wrong, *settings.VAULT_KEYS, SENTINEL_TEXT]:
        assert secret not in output


def test_a_command_that_opens_secrets_refuses_a_wrong_key_and_runs_with_the_right_one(
    sealed_sentinel: str,
) -> None:
    wrong = Fernet.generate_key().decode()
    code, output, _ = run(["manage.py", "reconcile_orders"], vault_keys=wrong)
    assert code != 0 and "vault.E001" in output
    code, output, _ = run(["manage.py", "reconcile_orders"], vault_keys=sealed_sentinel)
    assert code == 0, output


def test_the_web_server_refuses_to_start_with_a_wrong_key(sealed_sentinel: str) -> None:
    wrong = Fernet.generate_key().decode()
    for module in ["oneclick.asgi", "oneclick.wsgi"]:
        code, output, _ = run(["-c", f"import {module}"], vault_keys=wrong)
        assert code != 0
        assert "OneClick refuses to start: VAULT_KEYS cannot decrypt" in output
        assert "Traceback" not in output and wrong not in output
    code, output, _ = run(["-c", "import oneclick.asgi"], vault_keys=sealed_sentinel)
    assert code == 0, output


def test_tooling_commands_do_not_need_the_vault() -> None:
    # migrate runs before any sealed data (or the sentinel's table) exists.
    assert running_command(["manage.py", "migrate"]) == "migrate"
    from vault.selftest import SECRET_COMMANDS

    assert not {"migrate", "migrate_all", "makemigrations", "check", "collectstatic"} & (
        SECRET_COMMANDS
    )
    assert running_command(["/usr/bin/pytest", "-q"]) == ""
