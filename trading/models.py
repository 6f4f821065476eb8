from __future__ import annotations

from django.db import models


class RateWindow(models.Model):
    """Units spent in one fixed window of a shared budget (embedded default only)."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField()
    used = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="unique_rate_window")
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start}: {self.used}"
