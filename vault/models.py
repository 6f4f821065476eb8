from __future__ import annotations

from django.db import models

from vault.fields import VaultField


class VaultSentinel(models.Model):
    """A known value sealed under the vault keys, opened at every start-up.

    If it no longer opens, the configured keys are not the ones the data was
    written with: better to refuse to start than to fail on every secret later.
    """

    name = models.CharField(max_length=50, unique=True)
    value = VaultField(bind=("name",))

    def __str__(self) -> str:
        return self.name
