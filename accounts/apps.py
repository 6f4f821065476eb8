from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Imported here: the receivers load models, which needs the app registry ready.
        from accounts import receivers  # noqa: F401  (connects signal receivers)
