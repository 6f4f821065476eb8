"""The start-up check that the vault keys are the ones the data was sealed with.

Every process runs it itself when it starts, not only the Procfile's
``vault_selftest`` line: the web server (``oneclick/asgi.py``, ``wsgi.py``),
and the management commands that open secrets (``SECRET_COMMANDS``, through a
system check Django runs before the command). A process started by hand with a
wrong key refuses at once instead of failing on the first secret it opens.

``migrate``/``migrate_all`` and other tooling are not checked: they open no
secret, and before the first migration there is no table to hold the sentinel.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, transaction

from sealed.crypto import VaultDecryptionError
from vault.models import VaultSentinel

SENTINEL_NAME = "sentinel"
SENTINEL_TEXT = "oneclick-vault-sentinel"

# Management commands that open secrets: the task cluster (runs trades), the
# development server, and the repo's commands that sign or place orders.
SECRET_COMMANDS = frozenset(
    {"qcluster", "runserver", "reconcile_orders", "run_strategy", "rotate_vault_keys"}
)


def check_vault_keys() -> None:
    """Open the sentinel, writing it on first use.

    Raises ImproperlyConfigured when the configured keys cannot open it.
    """
    sentinel = VaultSentinel.objects.filter(name=SENTINEL_NAME).first()
    if sentinel is None:
        try:
            with transaction.atomic():
                VaultSentinel.objects.create(name=SENTINEL_NAME, value=SENTINEL_TEXT)
        except IntegrityError:
            pass  # another process wrote it first; open theirs below
        sentinel = VaultSentinel.objects.get(name=SENTINEL_NAME)
    try:
        opened = sentinel.value
    except VaultDecryptionError:
        opened = None
    if opened != SENTINEL_TEXT:
        raise ImproperlyConfigured(
            "VAULT_KEYS cannot decrypt data written earlier: the vault key is wrong "
            "or missing. Restore the previous key (keep it listed after a new one "
            "when rotating)."
        )


def running_command(argv: list[str] | None = None) -> str:
    """The management command this process runs, or "" when it is not one."""
    argv = sys.argv if argv is None else argv
    if len(argv) > 1 and Path(argv[0]).name in ("manage.py", "django-admin", "__main__.py"):
        return argv[1]
    return ""


def check_vault_keys_at_start() -> None:
    """For the web server's entry modules: refuse to start on wrong keys.

    Exits with the reason (never a key or a secret) instead of a traceback.
    """
    if not settings.VAULT_CHECK_AT_START:
        return
    try:
        check_vault_keys()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"OneClick refuses to start: {exc}") from None


def vault_keys_system_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Django runs this before a command's ``handle()``; an Error stops the command."""
    if not settings.VAULT_CHECK_AT_START or running_command() not in SECRET_COMMANDS:
        return []
    try:
        check_vault_keys()
    except ImproperlyConfigured as exc:
        return [Error(f"OneClick refuses to start: {exc}", id="vault.E001")]
    except DatabaseError as exc:
        return [
            Error(
                "OneClick refuses to start: the vault keys cannot be checked, the database "
                f"is not ready ({type(exc).__name__}). Run `manage.py migrate_all` first.",
                id="vault.E002",
            )
        ]
    return []
