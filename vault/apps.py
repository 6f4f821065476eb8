from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VaultConfig(AppConfig):
    name = "vault"
    verbose_name = "Vault"

    def ready(self) -> None:
        # Imported here: these modules load models, which needs the app registry ready.
        from vault.schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
