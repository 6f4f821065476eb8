from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StrategiesConfig(AppConfig):
    name = "strategies"
    verbose_name = "Strategies"

    def ready(self) -> None:
        # Imported here: these modules load models, which needs the app registry ready.
        from strategies.schedules import after_migrate

        post_migrate.connect(after_migrate, sender=self)
