from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin.apps import AdminConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


class OneClickConfig(AppConfig):
    name = "oneclick"
    verbose_name = "OneClick"

    def ready(self) -> None:
        # Imported here: these modules load models, which needs the app registry ready.
        from oneclick import pg_timestamps
        from oneclick.queue_config import queue_config_problems
        from strategies import hooks
        from vault.clients import public_client
        from vault.selftest import vault_keys_system_check  # as above: loads models

        # Strategies reads market data through vault's door without importing vault.
        hooks.provide_public_client(public_client)

        # PostgreSQL timestamps parsed in C rather than in Python (oneclick/pg_timestamps.py).
        pg_timestamps.connect()

        # Commands that open secrets check the vault keys before they start.
        checks.register(vault_keys_system_check)

        problems = queue_config_problems(settings.Q_CLUSTER)
        if problems:
            raise ImproperlyConfigured("Unsafe Q_CLUSTER settings: " + "; ".join(problems))


class OneClickAdminConfig(AdminConfig):
    default_site = "oneclick.admin_site.OneClickAdminSite"
