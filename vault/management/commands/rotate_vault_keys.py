from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from vault.rotation import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of VAULT_KEYS. "
        "Safe to re-run and to interrupt. Afterwards older keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = rotate_all()
        self.stdout.write(
            f"Re-encrypted {report.rotated} value(s); {report.current} already used the newest key."
        )
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} value(s) could not be decrypted with any configured key: "
                + "; ".join(report.failed)
            )
