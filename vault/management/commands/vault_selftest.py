from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from vault.selftest import check_vault_keys


class Command(BaseCommand):
    help = "Refuse to go on unless the vault keys open the data sealed earlier."

    def handle(self, *args: Any, **options: Any) -> None:
        check_vault_keys()
        self.stdout.write("Vault keys OK.")
