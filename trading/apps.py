from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        # Imported here: these modules load models, which needs the app registry ready.
        from strategies import hooks
        from trading import receivers  # noqa: F401  (connects the receivers)
        from trading.fanout import fan_out
        from trading.schedules import ensure_schedules

        if fan_out not in hooks.SIGNAL_RECEIVERS:
            hooks.SIGNAL_RECEIVERS.append(fan_out)
        post_migrate.connect(ensure_schedules, sender=self)
