"""Settings from the environment, checked in a fresh interpreter each time."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/oneclick",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "SECRET_KEY": "x" * 60,
    "VAULT_KEYS": Fernet.generate_key().decode(),
}
CLEAN = {k: v for k, v in os.environ.items() if k not in {*PRODUCTION, "SECURE_HTTPS", "DEBUG"}}


def run(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    full_env = {**CLEAN, "ONECLICK_VAR_DIR": str(tmp_path), **env}
    full_env["DJANGO_SETTINGS_MODULE"] = "oneclick.settings"
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_nothing_set_the_embedded_default_runs(tmp_path: Path) -> None:
    result = run(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CHANNEL_LAYERS['default']['BACKEND'], 'orm' in s.Q_CLUSTER, s.DEBUG, s.EMAIL_BACKEND)",
        {},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.db.DatabaseCache",
        "channels_lite.layers.core.SQLiteChannelLayer",
        "True",
        "False",
        "oneclick.mail.ConsoleAndFileBackend",
    ]


def test_the_embedded_default_generates_its_secrets_once(tmp_path: Path) -> None:
    code = "from django.conf import settings as s; print(s.SECRET_KEY, s.VAULT_KEYS[0])"
    first = run(code, {}, tmp_path).stdout
    second = run(code, {}, tmp_path).stdout
    assert first == second and len(first.split()[0]) >= 50
    assert (tmp_path / "secrets" / "SECRET_KEY").stat().st_mode & 0o077 == 0


def test_production_uses_postgres_and_redis(tmp_path: Path) -> None:
    result = run(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CHANNEL_LAYERS['default']['BACKEND'], s.Q_CLUSTER['redis'], s.SESSION_COOKIE_SECURE)",
        PRODUCTION,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "django.core.cache.backends.redis.RedisCache",
        "channels_redis.core.RedisChannelLayer",
        "redis://127.0.0.1:6379/15",
        "True",
    ]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "VAULT_KEYS", "REDIS_URL"])
def test_production_refuses_to_start_without(missing: str, tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = run("print('started')", env, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr
    assert "started" not in result.stdout
    assert not (tmp_path / "secrets" / missing).exists()


def test_a_broken_queue_config_refuses_to_start(tmp_path: Path) -> None:
    result = run("print('started')", {"Q_TIMEOUT": "600", "Q_RETRY": "300"}, tmp_path)
    assert result.returncode != 0
    assert "must be below retry" in result.stderr


def test_a_malformed_vault_key_refuses_to_start(tmp_path: Path) -> None:
    result = run(
        "from sealed.crypto import seal; seal('x', context='c')",
        {"VAULT_KEYS": "not-a-fernet-key"},
        tmp_path,
    )
    assert result.returncode != 0
    assert "VAULT_KEYS entry 1 is not a Fernet key" in result.stderr


def test_the_deploy_check_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = {**CLEAN, **PRODUCTION, "ONECLICK_VAR_DIR": str(tmp_path)}
    env["ALLOWED_HOSTS"] = "oneclick.example"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
