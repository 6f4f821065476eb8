from __future__ import annotations

from django.apps import AppConfig


class PaperAppConfig(AppConfig):
    name = "paper"
    label = "paper"
    verbose_name = "Paper exchange"
    default_auto_field = "django.db.models.BigAutoField"
